import { z } from 'zod';
import { PageQuery, Timestamp } from './common.js';

/** Every action the audit log records: `<target type>.<what happened>`. */
export const AUDIT_ACTIONS = [
  'key.created',
  'key.revoked',
  'template.created',
  'template.updated',
  'template.paused',
  'template.resumed',
  'workflow.created',
  'workflow.updated',
  'schedule.created',
  'schedule.paused',
  'schedule.resumed',
  'schedule.deleted',
  'category.updated',
  'category.paused',
  'category.resumed',
  'app.paused',
  'app.resumed',
  'app.cors_updated',
  'channel.paused',
  'channel.resumed',
  'preferences.updated',
  'user.updated',
  'user.erased',
  'topic.subscribed',
  'topic.unsubscribed',
  'webhook.created',
  'webhook.deleted',
  'delivery.replayed',
  'notification.cancelled',
  'batch.cancelled',
  'workflow_run.cancelled',
  'suppression.deleted',
] as const;
export const AuditAction = z.enum(AUDIT_ACTIONS).meta({ id: 'AuditAction', example: 'template.updated' });
export type AuditAction = z.infer<typeof AuditAction>;

export const AUDIT_ACTOR_TYPES = ['key', 'admin', 'cli', 'user'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

export const AuditEvent = z
  .object({
    id: z.uuid(),
    actor_type: z.enum(AUDIT_ACTOR_TYPES).meta({
      description: 'An API key, an operator with the admin credentials (the dashboard, /admin), the keys CLI, or the user (recipient) themselves, e.g. through an unsubscribe link',
    }),
    actor_id: z.string().meta({ description: "The API key's id, the admin user name, the OS user who ran the CLI, or the user's id" }),
    request_id: z.string().nullable().meta({ description: 'X-Request-Id of the request that made the change (null from the CLI)' }),
    action: AuditAction,
    target_type: z.string().meta({ example: 'template' }),
    target_id: z.string().meta({ example: 'welcome' }),
    summary: z.record(z.string(), z.unknown()).meta({ description: 'What changed: field names and non-personal values, never content or contact details' }),
    created_at: Timestamp,
  })
  .meta({ id: 'AuditEvent' });
export type AuditEvent = z.infer<typeof AuditEvent>;

export const AuditEventPage = z.object({ data: z.array(AuditEvent), next_cursor: z.string().nullable() }).meta({ id: 'AuditEventPage' });
export type AuditEventPage = z.infer<typeof AuditEventPage>;

const Filter = z.string().min(1).max(200);

export const AuditEventQuery = PageQuery.extend({
  action: AuditAction.optional(),
  target_type: Filter.optional(),
  target_id: Filter.optional(),
  actor_id: Filter.optional(),
  from: Timestamp.optional().meta({ description: 'Events at or after this time' }),
  to: Timestamp.optional().meta({ description: 'Events before this time' }),
});
export type AuditEventQuery = z.infer<typeof AuditEventQuery>;
