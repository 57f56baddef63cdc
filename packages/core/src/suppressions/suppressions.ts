import type pg from 'pg';
import type { ProviderError, SuppressionReason } from '../channels/provider-error.js';
import type { Envelope } from '../channels/provider.js';
import type { Channel } from '../platform/channels.js';
import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid, newId } from '../platform/ids.js';
import type { Suppression, SuppressionPage, SuppressionQuery } from '../schemas/suppressions.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

/** How an address is stored and matched: email addresses in lower case (mailboxes are, in practice, case-blind). */
export function suppressionAddress(channel: Channel, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address;
}

/** SQL for the address the claim matches against suppressions, in the form suppressionAddress stores it. */
export function suppressionAddressSql(channel: string, email: string, phone: string): string {
  return `CASE ${channel} WHEN 'email' THEN lower(btrim(${email})) WHEN 'sms' THEN ${phone} END`;
}

export interface NewSuppression {
  appId: string;
  /** The user the refused delivery was for: a STOP also opts them out of SMS. */
  userId: string;
  channel: Channel;
  address: string;
  reason: SuppressionReason;
  errorCode: string | null;
  deliveryId: string | null;
}

/**
 * Records addresses a provider refused for good, in one statement. An
 * address already suppressed keeps its first record. A STOP (sms,
 * `unsubscribed`) is also the user's SMS opt-out, as if they had set it
 * themselves: it stays after the suppression is deleted, until the
 * preferences are changed (a number given to someone else is a new start;
 * consent to text the old owner is not).
 */
export async function recordSuppressions(pool: pg.Pool, items: NewSuppression[]): Promise<void> {
  if (items.length === 0) return;
  const col = <T>(f: (s: NewSuppression) => T) => items.map(f);
  await pool.query({
    text: `/* record_suppressions */ WITH s AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::channel[], $5::text[], $6::text[], $7::text[], $8::uuid[])
          AS s(id, app_id, user_id, channel, address, reason, error_code, delivery_id)
      ),
      added AS (
        INSERT INTO suppressions (id, app_id, channel, address, reason, error_code, delivery_id)
        SELECT id, app_id, channel, address, reason, error_code, delivery_id FROM s
        ON CONFLICT (app_id, channel, address) DO NOTHING
      ),
      stopped AS (
        INSERT INTO preferences (app_id, user_id, category, channel, enabled, updated_at)
        SELECT DISTINCT app_id, user_id, '', 'sms'::channel, false, now() FROM s WHERE channel = 'sms' AND reason = 'unsubscribed'
        ON CONFLICT (app_id, user_id, category, channel) DO UPDATE SET enabled = false, updated_at = now()
        RETURNING app_id, user_id
      )
      UPDATE users u SET updated_at = now() FROM stopped WHERE u.app_id = stopped.app_id AND u.id = stopped.user_id`,
    values: [
      col(() => newId()),
      col((s) => s.appId),
      col((s) => s.userId),
      col((s) => s.channel),
      col((s) => suppressionAddress(s.channel, s.address)),
      col((s) => s.reason),
      col((s) => s.errorCode),
      col((s) => s.deliveryId),
    ],
  });
}

function view(s: { id: string; channel: Channel; address: string; reason: string; errorCode: string | null; deliveryId: string | null; createdAt: Date }): Suppression {
  return {
    id: s.id,
    channel: s.channel,
    address: s.address,
    reason: s.reason as SuppressionReason,
    error_code: s.errorCode,
    delivery_id: s.deliveryId,
    created_at: s.createdAt.toISOString(),
  };
}

/** The app's suppressed addresses, newest first. */
export async function listSuppressions(db: Db, appId: string, q: SuppressionQuery): Promise<SuppressionPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const address = q.address === undefined ? undefined : q.channel ? suppressionAddress(q.channel, q.address) : { in: [q.address, suppressionAddress('email', q.address)] };
  const where = { appId, channel: q.channel, address, id: after ? { lt: after } : undefined };
  const rows = await db.prisma.suppression.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { data: page.map(view), next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null };
}

/** Lifts a suppression: the address may be sent to again. The audit event names the channel and reason, not the address. */
export async function deleteSuppression(db: Db, appId: string, id: string, by?: AuditActor): Promise<void> {
  await db.prisma.$transaction(async (tx) => {
    const row = isUuid(id) ? await tx.suppression.findFirst({ where: { id, appId } }) : null;
    if (!row) throw notFound('Suppression');
    await tx.suppression.delete({ where: { id } });
    await recordAudit(tx, by, { appId, action: 'suppression.deleted', targetType: 'suppression', targetId: id, summary: { channel: row.channel, reason: row.reason } });
  });
}

/**
 * The address a provider's refusal suppresses, if it does: the error names a
 * reason (hard bounce, STOP, invalid number), or a push service reported the
 * device's token gone. Push devices reported gone are also removed; the
 * suppression keeps a backend that registers the dead token again from
 * sending to it.
 */
export function refusedAddress(envelope: Envelope, err: ProviderError): { channel: Channel; address: string; reason: SuppressionReason } | null {
  const reason = err.suppress ?? (err.gone && envelope.channel === 'push' ? 'unregistered' : undefined);
  if (!reason) return null;
  switch (envelope.channel) {
    case 'email':
    case 'sms':
      return { channel: envelope.channel, address: envelope.message.to, reason };
    case 'push':
      return { channel: 'push', address: envelope.message.device.token, reason };
    default:
      return null;
  }
}
