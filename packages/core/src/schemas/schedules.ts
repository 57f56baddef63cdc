import { z } from 'zod';
import { PageQuery, Timestamp, UserId } from './common.js';
import { contentRules, NotificationContent, TopicKey } from './notifications.js';
import { TemplateKey } from './templates.js';
import { LIMITS } from '../platform/limits.js';

/** What a schedule sends at each occurrence: a POST /notifications body without its recipient, idempotency key, send_at or guards. */
const { send_at: _sendAt, ...content } = NotificationContent;
export const ScheduleNotification = z.object(content).strict().superRefine(contentRules).meta({ id: 'ScheduleNotification' });
export type ScheduleNotification = z.infer<typeof ScheduleNotification>;

export const ScheduleTarget = z
  .object({
    user_id: UserId.optional(),
    user_ids: z.array(UserId).min(1).max(LIMITS.bulkRecipients).optional().meta({ description: 'Workflow targets only' }),
    topic: TopicKey.optional().meta({ description: 'Every subscriber of the topic at each occurrence' }),
    workflow: TemplateKey.optional().meta({ description: 'Trigger this workflow (with `data`) instead of sending a notification' }),
  })
  .strict()
  .superRefine((t, ctx) => {
    const given = (['user_id', 'user_ids', 'topic'] as const).filter((k) => t[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', path: ['user_id'], message: t.workflow ? 'give one of user_id, user_ids or topic' : 'give either user_id or topic' });
    if (t.user_ids !== undefined && t.workflow === undefined) ctx.addIssue({ code: 'custom', path: ['user_ids'], message: 'only with workflow' });
  })
  .meta({ id: 'ScheduleTarget', description: '`{ user_id }`, `{ topic }`, or `{ workflow, user_id | user_ids | topic }`' });
export type ScheduleTarget = z.infer<typeof ScheduleTarget>;

export const CreateScheduleBody = z
  .object({
    cron: z.string().min(1).max(120).meta({
      description: 'A cron expression: 5 fields (minute precision) or 6 (with seconds first), e.g. `0 9 * * 1` (Mondays 09:00)',
      example: '0 9 * * 1',
    }),
    timezone: z.string().min(1).max(64).meta({
      description: "The IANA time zone the cron expression is read in, or `user`: at the same wall-clock time in each recipient's own zone (users.timezone, else UTC)",
      example: 'Europe/Paris',
    }),
    target: ScheduleTarget,
    notification: ScheduleNotification.optional().meta({ description: 'What to send (user and topic targets)' }),
    data: NotificationContent.data.meta({ description: "The workflow trigger's data (workflow targets)" }),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.target.workflow === undefined) {
      if (b.notification === undefined) ctx.addIssue({ code: 'custom', path: ['notification'], message: 'required for a user or topic target' });
      if (b.data !== undefined) ctx.addIssue({ code: 'custom', path: ['data'], message: 'only for a workflow target (notification.data otherwise)' });
    } else {
      if (b.notification !== undefined) ctx.addIssue({ code: 'custom', path: ['notification'], message: 'not for a workflow target (give data)' });
      // A workflow's own delay steps wait until a time of day in the user's zone.
      if (b.timezone === 'user')
        ctx.addIssue({ code: 'custom', path: ['timezone'], message: "not for a workflow target: give a zone (a delay step can wait until a time in each user's zone)" });
    }
  })
  .meta({ id: 'CreateSchedule' });
export type CreateScheduleBody = z.infer<typeof CreateScheduleBody>;

export const Schedule = z
  .object({
    id: z.uuid(),
    cron: z.string(),
    timezone: z.string().meta({ description: 'An IANA zone, or `user`' }),
    target: ScheduleTarget,
    notification: ScheduleNotification.nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
    paused: z.boolean(),
    fired: z.number().int().meta({ description: 'Occurrences fired so far' }),
    last_fired_at: Timestamp.nullable().meta({ description: 'The last occurrence fired (its scheduled time)' }),
    next_occurrences: z.array(Timestamp).meta({
      description:
        'The next few times it fires (none while paused). With `timezone: user`, the instant the wall-clock time comes first (Pacific/Kiritimati); each recipient gets it later, at that time in their zone',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.infer<typeof Schedule>;

export const SchedulePage = z.object({ data: z.array(Schedule), next_cursor: z.string().nullable() }).meta({ id: 'SchedulePage' });
export type SchedulePage = z.infer<typeof SchedulePage>;

export const ScheduleListQuery = PageQuery;
