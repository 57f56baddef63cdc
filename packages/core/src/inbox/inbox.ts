import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid } from '../platform/ids.js';
import type { InboxItem, InboxPage } from '../schemas/inbox.js';

/** Redis pub/sub channel prefix for new inbox items: `<prefix><app_id>:<user_id>`. */
export const INBOX_CHANNEL_PREFIX = 'notify:inbox:';

/** What a live stream receives for each new item: the item as the inbox API shows it. */
export type InboxEvent = InboxItem;

export function inboxItemView(r: { id: string; notificationId: string; title: string | null; body: string; data: unknown; readAt: Date | null; createdAt: Date }): InboxItem {
  return {
    id: r.id,
    notification_id: r.notificationId,
    title: r.title,
    body: r.body,
    data: (r.data ?? null) as Record<string, unknown> | null,
    read_at: r.readAt?.toISOString() ?? null,
    created_at: r.createdAt.toISOString(),
  };
}

export async function unreadCount(db: Db, appId: string, userId: string): Promise<number> {
  return db.prisma.inboxItem.count({ where: { appId, userId, readAt: null } });
}

/** The user's inbox, newest first, with the unread count. */
export async function listInbox(db: Db, appId: string, userId: string, q: { limit: number; cursor?: string | undefined; unread_only?: boolean | undefined }): Promise<InboxPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const [rows, unread] = await Promise.all([
    db.prisma.inboxItem.findMany({
      where: { appId, userId, readAt: q.unread_only ? null : undefined, id: after ? { lt: after } : undefined },
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

/** Marks one item read (idempotent: reading it again keeps the first time). */
export async function markRead(db: Db, appId: string, userId: string, id: string): Promise<InboxItem> {
  const item = isUuid(id) ? await db.prisma.inboxItem.findFirst({ where: { id, appId, userId } }) : null;
  if (!item) throw notFound('Inbox item');
  if (item.readAt) return inboxItemView(item);
  return inboxItemView(await db.prisma.inboxItem.update({ where: { id }, data: { readAt: new Date() } }));
}

/** Marks every unread item read; answers how many changed. */
export async function markAllRead(db: Db, appId: string, userId: string): Promise<{ marked: number; unread_count: number }> {
  const { count } = await db.prisma.inboxItem.updateMany({ where: { appId, userId, readAt: null }, data: { readAt: new Date() } });
  return { marked: count, unread_count: 0 };
}

/** Items created after `afterId`, oldest first: what a reconnecting live stream missed. */
export async function inboxItemsAfter(db: Db, appId: string, userId: string, afterId: string, limit = 100): Promise<InboxItem[]> {
  const rows = await db.prisma.inboxItem.findMany({ where: { appId, userId, id: { gt: afterId } }, orderBy: { id: 'asc' }, take: limit });
  return rows.map(inboxItemView);
}
