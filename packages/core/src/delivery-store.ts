import type pg from 'pg';
import type { Channel, Priority } from './channels.js';

/** A delivery taken by a worker, with what it needs to build the message. */
export interface ClaimedDelivery {
  id: string;
  appId: string;
  notificationId: string;
  channel: Channel;
  /** Provider calls so far, this one included. */
  attempts: number;
  /** `sending` means an earlier worker died mid-send: this may be a second send. */
  previousStatus: 'queued' | 'retrying' | 'sending';
  userId: string;
  type: string | null;
  subject: string | null;
  message: string;
  data: Record<string, unknown> | null;
  priority: Priority;
  email: string | null;
  phone: string | null;
}

/**
 * Marks a delivery `sending` and counts the attempt, returning its content and
 * contacts; null when the delivery is already finished (delivered, failed,
 * cancelled, skipped), so a finished delivery is never sent again.
 */
export async function claimDelivery(pool: pg.Pool, id: string): Promise<ClaimedDelivery | null> {
  const { rows } = await pool.query({
    name: 'claim_delivery',
    text: `WITH c AS (
        UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'retrying', 'sending')
        RETURNING id, app_id, notification_id, channel, attempts,
          (SELECT status FROM deliveries WHERE id = $1) AS previous_status
      )
      SELECT c.*, n.user_id, n.type, n.subject, n.message, n.data, n.priority, u.email, u.phone
      FROM c JOIN notifications n ON n.id = c.notification_id
      LEFT JOIN users u ON u.app_id = n.app_id AND u.id = n.user_id`,
    values: [id],
  });
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    appId: r.app_id,
    notificationId: r.notification_id,
    channel: r.channel,
    attempts: r.attempts,
    previousStatus: r.previous_status,
    userId: r.user_id,
    type: r.type,
    subject: r.subject,
    message: r.message,
    data: r.data,
    priority: r.priority,
    email: r.email,
    phone: r.phone,
  };
}

export type FinalStatus = 'delivered' | 'failed' | 'skipped' | 'cancelled';

export interface DeliveryOutcome {
  status: FinalStatus;
  provider?: string | null;
  providerMessageId?: string | null;
  reason?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/**
 * Ends a delivery and updates its notification's counts and status in one
 * statement. Only an unfinished delivery moves, so an outcome counts once.
 * The counters are updated from the notification row itself (not a read
 * before it), so channels finishing at the same moment cannot overwrite
 * each other's result. Returns the notification's new status, or null if the
 * delivery was already finished.
 */
export async function finishDelivery(pool: pg.Pool, id: string, o: DeliveryOutcome): Promise<string | null> {
  const { rows } = await pool.query<{ status: string }>({
    name: 'finish_delivery',
    text: `WITH d AS (
        UPDATE deliveries SET status = $2::delivery_status,
          provider = COALESCE($3, provider), provider_message_id = COALESCE($4, provider_message_id),
          reason = COALESCE($5, reason),
          last_error_code = CASE WHEN $2 = 'failed' THEN $6 ELSE last_error_code END,
          last_error_message = CASE WHEN $2 = 'failed' THEN $7 ELSE last_error_message END,
          delivered_at = CASE WHEN $2 = 'delivered' THEN now() END,
          failed_at = CASE WHEN $2 = 'failed' THEN now() END,
          updated_at = now()
        WHERE id = $1 AND status IN ('queued', 'retrying', 'sending')
        RETURNING notification_id, status
      )
      UPDATE notifications n SET
        pending_count = n.pending_count - 1,
        delivered_count = n.delivered_count + (d.status = 'delivered')::int,
        failed_count = n.failed_count + (d.status = 'failed')::int,
        cancelled_count = n.cancelled_count + (d.status = 'cancelled')::int,
        skipped_count = n.skipped_count + (d.status = 'skipped')::int,
        status = CASE
          WHEN n.pending_count - 1 > 0 THEN 'pending'
          WHEN n.delivered_count + (d.status = 'delivered')::int > 0
            AND n.failed_count + (d.status = 'failed')::int > 0 THEN 'partial'
          WHEN n.delivered_count + (d.status = 'delivered')::int > 0 THEN 'delivered'
          WHEN n.failed_count + (d.status = 'failed')::int > 0 THEN 'failed'
          WHEN n.cancelled_count + (d.status = 'cancelled')::int > 0 THEN 'cancelled'
          ELSE 'skipped' END::notification_status,
        updated_at = now()
      FROM d WHERE n.id = d.notification_id
      RETURNING n.status`,
    values: [
      id,
      o.status,
      o.provider ?? null,
      o.providerMessageId ?? null,
      o.reason ?? null,
      o.errorCode ?? null,
      o.errorMessage ?? null,
    ],
  });
  return rows[0]?.status ?? null;
}

/** Records a failed attempt that will be retried. */
export async function markRetrying(
  pool: pg.Pool,
  id: string,
  e: { provider: string | null; errorCode: string; errorMessage: string },
): Promise<void> {
  await pool.query({
    name: 'mark_retrying',
    text: `UPDATE deliveries SET status = 'retrying', provider = COALESCE($2, provider),
        last_error_code = $3, last_error_message = $4, updated_at = now()
      WHERE id = $1 AND status = 'sending'`,
    values: [id, e.provider, e.errorCode, e.errorMessage],
  });
}
