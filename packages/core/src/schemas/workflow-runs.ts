import { z } from 'zod';
import { LIMITS } from '../platform/limits.js';
import { PageQuery, Timestamp, UserId } from './common.js';
import { TopicKey } from './notifications.js';

/** Most users one trigger names (`user_ids`): each gets its run in the request's transaction. A topic trigger has no such cap (it fans out). */
export const MAX_TRIGGER_USERS = 1000;

export const TriggerWorkflowBody = z
  .object({
    user_id: UserId.optional(),
    user_ids: z
      .array(UserId)
      .min(1)
      .max(MAX_TRIGGER_USERS)
      .optional()
      .meta({ description: `Up to ${MAX_TRIGGER_USERS} users, one run each` }),
    topic: TopicKey.optional().meta({
      description: 'Every subscriber of this topic, however many, one run each: the runs are created in the background (the answer is `creating`, with no runs yet)',
    }),
    confirm_recipients: z.number().int().min(0).optional().meta({
      description: 'A topic trigger: required when the topic has more than FANOUT_CONFIRM_THRESHOLD subscribers, their number (as for topic sends); any other number is refused',
    }),
    data: z
      .record(z.string(), z.unknown())
      .refine((d) => Buffer.byteLength(JSON.stringify(d)) <= LIMITS.dataBytes, { message: `must be at most ${LIMITS.dataBytes} bytes as JSON` })
      .optional()
      .meta({ description: "The run's data: template data of its send steps (`data.x` in branches and digest keys)" }),
    digest_key: z.string().min(1).max(200).optional().meta({ description: "Collect digests by this key instead of the digest step's `key` path" }),
  })
  .strict()
  .superRefine((b, ctx) => {
    const given = [b.user_id, b.user_ids, b.topic].filter((v) => v !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'give exactly one of user_id, user_ids and topic' });
    if (b.confirm_recipients !== undefined && b.topic === undefined) ctx.addIssue({ code: 'custom', path: ['confirm_recipients'], message: 'applies to a topic trigger only' });
    const seen = new Set<string>();
    for (const [i, id] of (b.user_ids ?? []).entries()) {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['user_ids', i], message: `repeats user ${id}` });
      seen.add(id);
    }
  })
  .meta({ id: 'TriggerWorkflow' });
export type TriggerWorkflowBody = z.infer<typeof TriggerWorkflowBody>;

export const WorkflowRunStatus = z.enum(['running', 'completed', 'cancelled', 'failed', 'digested']).meta({
  id: 'WorkflowRunStatus',
  description:
    'running until its last step is done (completed), a branch ends it early (completed, with a reason), it is cancelled, a step cannot be done (failed), or it was merged into another run\u2019s digest (digested)',
});

export const WorkflowRunStepStatus = z.enum(['pending', 'waiting', 'done', 'skipped', 'cancelled', 'failed']).meta({ id: 'WorkflowRunStepStatus' });

export const WorkflowTrigger = z
  .object({
    id: z.uuid().meta({ description: 'This trigger: every run it created carries it as `trigger_id`' }),
    workflow: z.string(),
    version: z.number().int().meta({ description: 'The version its runs execute (a topic trigger pins it for every subscriber)' }),
    topic: z.string().nullable(),
    status: z.enum(['created', 'creating']).meta({
      description:
        'created: every run is in `runs`; creating (a topic trigger): the runs are being created in the background, a chunk of subscribers at a time; list them with GET /workflows/{key}/runs (their `trigger_id` is this id)',
    }),
    count: z.number().int().meta({ description: 'How many runs the answer lists (0 for a topic trigger)' }),
    runs: z.array(z.object({ id: z.uuid(), user_id: z.string() })),
  })
  .meta({ id: 'WorkflowTrigger' });
export type WorkflowTrigger = z.infer<typeof WorkflowTrigger>;

const RunFields = {
  id: z.uuid(),
  workflow: z.string(),
  version: z.number().int(),
  user_id: z.string(),
  status: WorkflowRunStatus,
  current_step: z.string().nullable().meta({ description: 'The id of the step it is at; null once it has ended' }),
  next_at: Timestamp.nullable().meta({ description: 'When its current step is due: now, or the end of a delay or digest window' }),
  reason: z.string().nullable().meta({ description: 'Why it ended other than by completing every step' }),
  merged_into: z.uuid().nullable().meta({ description: 'A digested run: the run whose digest holds its data' }),
  digest_key: z.string().nullable(),
  trigger_id: z.uuid().nullable(),
  schedule_id: z.uuid().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const WorkflowRunSummary = z.object(RunFields).meta({ id: 'WorkflowRunSummary' });
export type WorkflowRunSummary = z.infer<typeof WorkflowRunSummary>;

export const WorkflowRun = z
  .object({
    ...RunFields,
    data: z.record(z.string(), z.unknown()).meta({ description: "The trigger's data; a digest adds `events`, each collected trigger's data" }),
    steps: z.array(
      z.object({
        index: z.number().int(),
        id: z.string(),
        type: z.enum(['send', 'delay', 'digest', 'branch']),
        status: WorkflowRunStepStatus,
        started_at: Timestamp.nullable(),
        finished_at: Timestamp.nullable(),
        notification_ids: z.array(z.uuid()).meta({ description: 'A send step: the notifications it created' }),
        detail: z
          .record(z.string(), z.unknown())
          .nullable()
          .meta({ description: "What the step did: a branch's condition and where it went, a digest's window end and event count, an error" }),
      }),
    ),
  })
  .meta({ id: 'WorkflowRun' });
export type WorkflowRun = z.infer<typeof WorkflowRun>;

export const WorkflowRunPage = z.object({ data: z.array(WorkflowRunSummary), next_cursor: z.string().nullable() }).meta({ id: 'WorkflowRunPage' });
export type WorkflowRunPage = z.infer<typeof WorkflowRunPage>;

export const WorkflowRunListQuery = PageQuery.extend({ status: WorkflowRunStatus.optional() });
