import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeKeyCursor } from '../platform/ids.js';
import type { SubscriberPage, Topic } from '../schemas/topics.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

async function topicView(db: Db, appId: string, key: string): Promise<Topic> {
  const topic = await db.prisma.topic.findUnique({ where: { appId_key: { appId, key } } });
  if (!topic) throw notFound('Topic');
  const subscribers = await db.prisma.topicSubscription.count({ where: { appId, topicKey: key } });
  return { key, subscribers, created_at: topic.createdAt.toISOString() };
}

/**
 * Subscribes users to a topic, creating the topic on first use. Already-subscribed users are left as they are.
 * The audit record counts them: who they are stays in the subscriptions, which an erasure removes.
 */
export async function subscribe(db: Db, appId: string, key: string, userIds: string[], by?: AuditActor): Promise<Topic & { added: number }> {
  const count = await db.prisma.$transaction(async (tx) => {
    await tx.topic.upsert({ where: { appId_key: { appId, key } }, create: { appId, key }, update: {} });
    const added = await tx.topicSubscription.createMany({ data: [...new Set(userIds)].map((userId) => ({ appId, topicKey: key, userId })), skipDuplicates: true });
    await recordAudit(tx, by, { appId, action: 'topic.subscribed', targetType: 'topic', targetId: key, summary: { added: added.count } });
    return added.count;
  });
  return { ...(await topicView(db, appId, key)), added: count };
}

export async function unsubscribe(db: Db, appId: string, key: string, userIds: string[], by?: AuditActor): Promise<Topic & { removed: number }> {
  const view = await topicView(db, appId, key);
  const count = await db.prisma.$transaction(async (tx) => {
    const removed = await tx.topicSubscription.deleteMany({ where: { appId, topicKey: key, userId: { in: userIds } } });
    await recordAudit(tx, by, { appId, action: 'topic.unsubscribed', targetType: 'topic', targetId: key, summary: { removed: removed.count } });
    return removed.count;
  });
  return { ...view, subscribers: view.subscribers - count, removed: count };
}

export const getTopic = topicView;

/** Subscribers in user id order, paged by user id. */
export async function listSubscribers(db: Db, appId: string, key: string, q: { limit: number; cursor?: string | undefined }): Promise<SubscriberPage> {
  await topicView(db, appId, key);
  const after = q.cursor === undefined ? undefined : decodeKeyCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const rows = await db.prisma.topicSubscription.findMany({
    where: { appId, topicKey: key, userId: after ? { gt: after } : undefined },
    orderBy: { userId: 'asc' },
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    data: page.map((r) => ({ user_id: r.userId, subscribed_at: r.createdAt.toISOString() })),
    next_cursor: rows.length > q.limit ? Buffer.from(page.at(-1)!.userId, 'utf8').toString('base64url') : null,
  };
}
