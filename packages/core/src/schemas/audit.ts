import { z } from 'zod';
import { PageQuery, Timestamp } from './common.js';

export const AuditEvent = z
  .object({
    id: z.uuid(),
    actor_type: z.enum(['key', 'admin']).meta({ description: 'An API key, or the admin dashboard' }),
    actor_id: z.string().meta({ description: "The API key's id, or the admin user name" }),
    request_id: z.string().nullable().meta({ description: 'X-Request-Id of the request that made the change' }),
    action: z.string().meta({ example: 'template.updated' }),
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
  action: Filter.optional(),
  target_type: Filter.optional(),
  target_id: Filter.optional(),
  actor_id: Filter.optional(),
  from: Timestamp.optional().meta({ description: 'Events at or after this time' }),
  to: Timestamp.optional().meta({ description: 'Events before this time' }),
});
export type AuditEventQuery = z.infer<typeof AuditEventQuery>;
