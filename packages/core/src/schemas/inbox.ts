import { z } from 'zod';
import { PageQuery, Timestamp } from './common.js';

export const InboxItem = z
  .object({
    id: z.uuid(),
    notification_id: z.uuid(),
    title: z.string().nullable(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
    read_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'InboxItem' });
export type InboxItem = z.infer<typeof InboxItem>;

export const InboxPage = z.object({ data: z.array(InboxItem), unread_count: z.number().int(), next_cursor: z.string().nullable() }).meta({ id: 'InboxPage' });
export type InboxPage = z.infer<typeof InboxPage>;

export const InboxQuery = PageQuery.extend({
  unread_only: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'Only items not read yet' }),
});

export const UnreadCount = z.object({ unread_count: z.number().int() }).meta({ id: 'UnreadCount' });
export const ReadAllResult = z.object({ marked: z.number().int(), unread_count: z.number().int() }).meta({ id: 'ReadAllResult' });
