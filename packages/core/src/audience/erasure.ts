import type { Queue } from 'bullmq';
import type { Channel } from '../platform/channels.js';
import { withTransaction, type Db } from '../platform/db.js';
import type { ChannelQueues, StatusEventJob } from '../platform/queues.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

export interface Erased {
  user_id: string;
  notifications: number;
  deliveries: number;
  inbox_items: number;
  status_events: number;
  jobs_removed: number;
}

/**
 * Right to erasure: deletes everything the service holds about a user (their
 * contacts and devices, preferences, topic subscriptions, notifications with
 * their deliveries, attempts and replays, inbox items, idempotency replays,
 * status events) in one transaction, then their jobs from Redis. A tombstone
 * keeps later requests for the same id from sending anything until the user
 * is created again with PUT /users/{id}. Its audit record, in the same
 * transaction, holds the user id and the counts: the erasure leaves the
 * audit log as it is (it never holds contacts or content), and the record is
 * what shows the erasure was done.
 */
export async function eraseUser(
  deps: { db: Db; queues: ChannelQueues; events?: Queue<StatusEventJob> | undefined },
  appId: string,
  userId: string,
  by?: AuditActor,
): Promise<Erased> {
  const counts = { notifications: 0, inbox_items: 0 };
  const { deliveries, events } = await withTransaction(deps.db.pool, async (client) => {
    const deliveries = (
      await client.query<{ id: string; channel: Channel }>(
        'SELECT d.id, d.channel FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.app_id = $1 AND n.user_id = $2',
        [appId, userId],
      )
    ).rows;
    const events = (await client.query<{ id: string }>('DELETE FROM status_events WHERE app_id = $1 AND user_id = $2 RETURNING id', [appId, userId])).rows.map((r) => r.id);
    await client.query('DELETE FROM idempotency_keys WHERE app_id = $1 AND notification_id IN (SELECT id FROM notifications WHERE app_id = $1 AND user_id = $2)', [appId, userId]);
    counts.notifications = (await client.query('DELETE FROM notifications WHERE app_id = $1 AND user_id = $2', [appId, userId])).rowCount ?? 0;
    counts.inbox_items = (await client.query('DELETE FROM inbox_items WHERE app_id = $1 AND user_id = $2', [appId, userId])).rowCount ?? 0;
    for (const table of ['preferences', 'topic_subscriptions']) {
      await client.query(`DELETE FROM ${table} WHERE app_id = $1 AND user_id = $2`, [appId, userId]);
    }
    await client.query('DELETE FROM users WHERE app_id = $1 AND id = $2', [appId, userId]);
    await client.query('INSERT INTO erased_users (app_id, user_id) VALUES ($1, $2) ON CONFLICT (app_id, user_id) DO UPDATE SET erased_at = now()', [appId, userId]);
    await recordAudit(client, by, {
      appId,
      action: 'user.erased',
      targetType: 'user',
      targetId: userId,
      summary: { notifications: counts.notifications, deliveries: deliveries.length, inbox_items: counts.inbox_items, status_events: events.length },
    });
    return { deliveries, events };
  });
  // Jobs hold ids only, but erasure leaves none: waiting, delayed, finished. A
  // job a worker holds right now cannot be removed; its delivery row is gone,
  // so it finishes without sending.
  const removed = await Promise.all([
    ...deliveries.map((d) => deps.queues[d.channel].remove(d.id).catch(() => 0)),
    ...(deps.events ? events.map((id) => deps.events!.remove(id).catch(() => 0)) : []),
  ]);
  return {
    user_id: userId,
    notifications: counts.notifications,
    deliveries: deliveries.length,
    inbox_items: counts.inbox_items,
    status_events: events.length,
    jobs_removed: removed.reduce<number>((a, b) => a + b, 0),
  };
}
