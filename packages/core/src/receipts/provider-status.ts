import type pg from 'pg';
import type { Channel } from '../platform/channels.js';
import { providerStatusEventsSql } from '../status-webhooks/events.js';

/**
 * What a provider later says about a message it accepted (its receipt). The
 * delivery's own status stays what the worker recorded (`delivered`: the
 * provider took it); `provider_status` is the provider's word after that.
 */
export const PROVIDER_STATUSES = ['sent', 'delivered', 'undelivered', 'failed'] as const;
export type ProviderStatus = (typeof PROVIDER_STATUSES)[number];

/**
 * Receipts arrive out of order and more than once. `sent` is the only status
 * a later receipt may replace; the first final one (delivered, undelivered,
 * failed) stays: a provider that reports both delivered and undelivered for
 * one message contradicts itself, and keeping the first keeps the answer
 * stable (the same status webhook is never sent twice with two answers). A
 * receipt that changes nothing writes nothing and sends no event.
 */
const REPLACEABLE = `(d.provider_status IS NULL OR (d.provider_status = 'sent' AND $3::provider_status <> 'sent'))`;

export interface Receipt {
  /** The provider's name as recorded on the delivery (`twilio`). */
  provider: string;
  /** The channel its messages go out on (receipts find their delivery through an index of that channel's rows). */
  channel: Channel;
  providerMessageId: string;
  status: ProviderStatus;
  errorCode: string | null;
}

export interface ReceiptOutcome {
  /** The delivery the receipt is about; null when no delivery has that message id. */
  delivery: { id: string; appId: string; userId: string } | null;
  /** Whether the receipt changed its provider status. */
  changed: boolean;
  /** Status webhook events written, to hand to their queue. */
  eventIds: string[];
}

/**
 * Records a receipt on its delivery (found by provider and message id) and
 * writes its `delivery.provider_status` events, in one statement. The
 * delivery's status and updated_at are left alone: they are in indexes, and
 * without them the update can stay on its page (HOT).
 */
export async function recordReceipt(pool: pg.Pool, r: Receipt): Promise<ReceiptOutcome> {
  const { rows } = await pool.query<{ id: string; app_id: string; user_id: string; changed: boolean; event_ids: string[] | null }>({
    text: `/* record_receipt */ WITH target AS (
        SELECT d.id, d.app_id, n.user_id FROM deliveries d JOIN notifications n ON n.id = d.notification_id
        WHERE d.provider = $1 AND d.provider_message_id = $2 AND d.channel = $5::channel
      ),
      receipted AS (
        UPDATE deliveries d SET provider_status = $3::provider_status, provider_status_at = now(), provider_error_code = $4
        FROM target t WHERE d.id = t.id AND ${REPLACEABLE}
        RETURNING d.id, d.app_id, d.notification_id, d.channel, d.status, d.provider, d.provider_message_id,
          d.provider_status, d.provider_status_at, d.provider_error_code
      ),
      ${providerStatusEventsSql('receipted')}
      SELECT t.id, t.app_id, t.user_id, EXISTS (SELECT 1 FROM receipted) AS changed, (SELECT array_agg(id) FROM events) AS event_ids FROM target t`,
    values: [r.provider, r.providerMessageId, r.status, r.errorCode, r.channel],
  });
  const row = rows[0];
  if (!row) return { delivery: null, changed: false, eventIds: [] };
  return { delivery: { id: row.id, appId: row.app_id, userId: row.user_id }, changed: row.changed, eventIds: row.event_ids ?? [] };
}
