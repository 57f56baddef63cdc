import { Prisma } from '../generated/prisma/client.js';
import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid } from '../platform/ids.js';
import type { InboxItem, InboxPage } from '../schemas/inbox.js';

/**
 * The Redis pub/sub channel of a user's new inbox items, under the
 * deployment's QUEUE_PREFIX, so services sharing one Redis never hear each
 * other's items (channels are not keys: nothing else separates them).
 */
export function inboxChannel(prefix: string, appId: string, userId: string): string {
  return `${prefix}:inbox:${appId}:${userId}`;
}

/** What a live stream receives for each new item: the item as the inbox API shows it. */
export type InboxEvent = InboxItem;

/** The longest link kept on an item. */
const MAX_LINK_LENGTH = 2000;

/**
 * A link an inbox can put in an `href`: an http(s) URL, or a path on the
 * app's own site (`/orders/1`, not `//elsewhere`). Anything else
 * (`javascript:`, `data:`, not a string) is dropped: the link comes from a
 * request's free-form data or a template, and a browser would run a script URL.
 */
export function safeLink(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LINK_LENGTH) return null;
  if (value.startsWith('/')) return /^\/(?![/\\])[^\s\\]*$/.test(value) ? value : null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : null;
  } catch {
    return null;
  }
}

/**
 * An item's link and sender from its message: the template's rendered
 * `in_app.link` first, else the request's `data.link`; `data.sender_id`.
 */
export function inboxItemSource(templateLink: string | undefined, data: Record<string, unknown> | null): { link: string | null; senderId: string | null } {
  const sender = data?.sender_id;
  return { link: safeLink(templateLink ?? data?.link), senderId: typeof sender === 'string' && sender.length > 0 && sender.length <= 256 ? sender : null };
}

interface InboxRow {
  id: string;
  notificationId: string;
  title: string | null;
  body: string;
  data: unknown;
  link: string | null;
  senderId: string | null;
  readAt: Date | null;
  archivedAt: Date | null;
  createdAt: Date;
}

export function inboxItemView(r: InboxRow): InboxItem {
  return {
    id: r.id,
    notification_id: r.notificationId,
    title: r.title,
    body: r.body,
    data: (r.data ?? null) as Record<string, unknown> | null,
    link: r.link,
    sender_id: r.senderId,
    read_at: r.readAt?.toISOString() ?? null,
    archived_at: r.archivedAt?.toISOString() ?? null,
    created_at: r.createdAt.toISOString(),
  };
}

/** Deleted items are kept only as tombstones: no read, list or count ever sees them. */
const live = (appId: string, userId: string) => ({ appId, userId, deletedAt: null });

/** Unread items not archived: what a badge shows. */
export async function unreadCount(db: Db, appId: string, userId: string): Promise<number> {
  return db.prisma.inboxItem.count({ where: { ...live(appId, userId), readAt: null, archivedAt: null } });
}

/** The user's inbox (or its archive), newest first, with the unread count. */
export async function listInbox(
  db: Db,
  appId: string,
  userId: string,
  q: { limit: number; cursor?: string | undefined; unread_only?: boolean | undefined; archived?: boolean | undefined },
): Promise<InboxPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const [rows, unread] = await Promise.all([
    db.prisma.inboxItem.findMany({
      where: { ...live(appId, userId), readAt: q.unread_only ? null : undefined, archivedAt: q.archived ? { not: null } : null, id: after ? { lt: after } : undefined },
      orderBy: { id: 'desc' },
      take: q.limit + 1,
    }),
    unreadCount(db, appId, userId),
  ]);
  const page = rows.slice(0, q.limit);
  return {
    data: page.map(inboxItemView),
    unread_count: unread,
    next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}

/** What the per-item actions do; setting a time again keeps the first one. */
const ACTIONS = {
  read: (r: InboxRow) => (r.readAt ? null : { readAt: new Date() }),
  unread: (r: InboxRow) => (r.readAt ? { readAt: null } : null),
  archive: (r: InboxRow) => (r.archivedAt ? null : { archivedAt: new Date() }),
  unarchive: (r: InboxRow) => (r.archivedAt ? { archivedAt: null } : null),
} as const;
export type InboxAction = keyof typeof ACTIONS;
export const INBOX_ACTIONS = Object.keys(ACTIONS) as InboxAction[];

/** Marks one item read or unread, archives or unarchives it (idempotent); 404 for another user's, a deleted or an unknown item. */
export async function updateInboxItem(db: Db, appId: string, userId: string, id: string, action: InboxAction): Promise<InboxItem> {
  const item = isUuid(id) ? await db.prisma.inboxItem.findFirst({ where: { id, ...live(appId, userId) } }) : null;
  if (!item) throw notFound('Inbox item');
  const change = ACTIONS[action](item);
  if (!change) return inboxItemView(item);
  return inboxItemView(await db.prisma.inboxItem.update({ where: { id }, data: change }));
}

/**
 * Deletes one item for good as far as the user can tell: its content is
 * cleared and it is never listed, counted or streamed again. The row stays,
 * so a retried delivery of the same message cannot bring it back (one item
 * per delivery); retention and erasure remove it with its notification.
 */
export async function deleteInboxItem(db: Db, appId: string, userId: string, id: string): Promise<void> {
  const { count } = isUuid(id)
    ? await db.prisma.inboxItem.updateMany({
        where: { id, ...live(appId, userId) },
        data: { deletedAt: new Date(), title: null, body: '', data: Prisma.DbNull, link: null, senderId: null },
      })
    : { count: 0 };
  if (count === 0) throw notFound('Inbox item');
}

/** Marks every unread item read (archived ones too); answers how many changed. */
export async function markAllRead(db: Db, appId: string, userId: string): Promise<{ marked: number; unread_count: number }> {
  const { count } = await db.prisma.inboxItem.updateMany({ where: { ...live(appId, userId), readAt: null }, data: { readAt: new Date() } });
  return { marked: count, unread_count: 0 };
}

/** Items created after `afterId` and still in the inbox, oldest first: what a reconnecting live stream missed. */
export async function inboxItemsAfter(db: Db, appId: string, userId: string, afterId: string, limit = 100): Promise<InboxItem[]> {
  const rows = await db.prisma.inboxItem.findMany({ where: { ...live(appId, userId), archivedAt: null, id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit });
  return rows.map(inboxItemView);
}
