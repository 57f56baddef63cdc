import { z } from 'zod';
import { PageQuery, Timestamp } from './common.js';

export const InboxItem = z
  .object({
    id: z.uuid(),
    notification_id: z.uuid(),
    title: z.string().nullable(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
    link: z
      .string()
      .nullable()
      .meta({ description: "Where a click goes: the template's `in_app.link`, else the request's `data.link`; only an http(s) URL or a path starting with `/` is kept" }),
    sender_id: z.string().nullable().meta({ description: "Who it is from, in your own ids: the request's `data.sender_id`" }),
    read_at: Timestamp.nullable(),
    archived_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'InboxItem' });
export type InboxItem = z.infer<typeof InboxItem>;

export const InboxPage = z
  .object({
    data: z.array(InboxItem),
    unread_count: z.number().int().meta({ description: 'Unread items not archived: what a badge shows' }),
    next_cursor: z.string().nullable(),
  })
  .meta({ id: 'InboxPage' });
export type InboxPage = z.infer<typeof InboxPage>;

/** A `true`/`false` query flag. */
const Flag = (description: string) =>
  z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description });

export const InboxQuery = PageQuery.extend({
  unread_only: Flag('Only items not read yet'),
  archived: Flag('true: only archived items; otherwise (the default) only items not archived'),
});

export const UnreadCount = z.object({ unread_count: z.number().int() }).meta({ id: 'UnreadCount' });
export const ReadAllResult = z.object({ marked: z.number().int(), unread_count: z.number().int() }).meta({ id: 'ReadAllResult' });
