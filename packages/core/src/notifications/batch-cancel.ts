// Stopping a mass send: a topic fan-out creates no more notifications, and the batch's deliveries not yet sent are cancelled.
import type { Channel } from '../platform/channels.js';
import { AppError, notFound, retryOnConflict } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import { withTransaction, type Queryable } from '../platform/db.js';
import { recordAudit, type AuditActor } from '../access/audit.js';
import { countsUpdateSql, sourceIs, target } from '../deliveries/transitions.js';
import { statusEventsSql } from '../status-webhooks/events.js';
import { enqueueStatusEvents } from '../status-webhooks/endpoints.js';
import type { NotificationDeps } from './accept.js';
import { getBatch } from './batches.js';
import type { BatchCancel } from '../schemas/notifications.js';

/**
 * Notifications whose deliveries one statement cancels: bounded, so a cancel
 * of a large batch never holds thousands of row locks a worker's claim would
 * wait on, nor builds one huge statement.
 */
export const CANCEL_CHUNK = 2000;

/**
 * Cancels a batch. A topic fan-out still creating is marked `cancelled`
 * first: that update waits for the chunk the fan-out is writing (fanoutStep
 * holds the batch row while it writes one), and the next chunk sees the
 * status and stops. Then every delivery of the batch's notifications not yet
 * handed to a provider (the cancel move: queued, scheduled, waiting to retry)
 * becomes `cancelled`, chunk by chunk, and its job is removed. One being sent
 * right now finishes. 409 when nothing was left to stop.
 *
 * The audit record commits with the first of these steps that changes
 * anything (the fan-out's stop, or else the first chunk that cancels a
 * delivery): the cancel is many transactions, and from its first one on it
 * is on record; a cancel that stops nothing records nothing.
 */
export async function cancelBatch(deps: NotificationDeps, appId: string, id: string, by?: AuditActor): Promise<BatchCancel> {
  const exists = isUuid(id) ? await deps.db.prisma.batch.count({ where: { id, appId } }) : 0;
  if (!exists) throw notFound('Batch');
  let recorded = false;
  /** One step in its own transaction; the first that changes something records the cancel in it. */
  // A step that deadlocks with a worker's claim or outcome (their batches lock rows in another order) runs again: it is idempotent.
  const step = async <T>(fanout: boolean, run: (client: Queryable) => Promise<{ result: T; changed: boolean }>) => {
    const { result, changed } = await retryOnConflict(() =>
      withTransaction(deps.db.pool, async (client) => {
        const ran = await run(client);
        if (ran.changed && !recorded) {
          await recordAudit(client, by, { appId, action: 'batch.cancelled', targetType: 'batch', targetId: id, summary: { fanout_stopped: fanout } });
        }
        return ran;
      }),
    );
    if (changed) recorded = true;
    return result;
  };
  // Its own transaction, committed before the deliveries are read: their statements then see every chunk the fan-out wrote.
  const fanoutStopped = await step(true, async (client) => {
    const stopped = (await client.query(`UPDATE batches SET status = 'cancelled', updated_at = now() WHERE id = $1 AND status = 'creating'`, [id])).rowCount ?? 0;
    return { result: stopped > 0, changed: stopped > 0 };
  });
  let cancelled = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await step(false, async (client) => {
      const { rows } = await client.query<{ id: string | null; channel: Channel | null; last_notification: string | null; event_ids: string[] | null }>({
        text: `/* cancel_batch_chunk */ WITH chunk AS (
          SELECT id FROM notifications WHERE batch_id = $1 AND id > $2 ORDER BY id LIMIT $3
        ),
        moved AS (
          UPDATE deliveries SET status = ${target('cancel', 'cancelled')}, reason = 'cancelled', updated_at = now()
          WHERE notification_id IN (SELECT id FROM chunk) AND ${sourceIs('cancel')}
          RETURNING id, notification_id, status, channel
        ),
        ${countsUpdateSql('moved', 'cancel')},
        ${statusEventsSql(null)}
        SELECT moved.id, moved.channel, (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_notification, (SELECT array_agg(id) FROM events) AS event_ids
        FROM (SELECT 1) one LEFT JOIN moved ON true`,
        values: [id, after, CANCEL_CHUNK],
      });
      return { result: rows, changed: rows.some((r) => r.id !== null) };
    });
    const moved = rows.filter((r): r is typeof r & { id: string; channel: Channel } => r.id !== null && r.channel !== null);
    cancelled += moved.length;
    await enqueueStatusEvents(deps.events, rows[0]?.event_ids ?? [], deps.log);
    // The rows are what matters (a worker's claim skips a cancelled delivery); removing the jobs spares the workers the no-op.
    await Promise.all(moved.map((r) => deps.queues[r.channel].remove(r.id).catch(() => 0)));
    const last = rows[0]?.last_notification;
    if (!last) break;
    after = last;
  }
  if (cancelled > 0) await deps.db.pool.query(`UPDATE batches SET status = 'cancelled', updated_at = now() WHERE id = $1 AND status = 'created'`, [id]);
  const batch = await getBatch(deps.db, appId, id);
  if (!fanoutStopped && cancelled === 0) {
    throw new AppError('conflict', 'Nothing to cancel: the batch is finished (every delivery is being sent or done)', [{ path: 'status', message: batch.status }]);
  }
  return { fanout_stopped: fanoutStopped, cancelled_deliveries: cancelled, batch };
}
