import type { Queryable } from '../platform/db.js';
import type { PlannedNotification } from './plan.js';

const INSERT_NOTIFICATIONS = `INSERT INTO notifications (id, app_id, user_id, type, category, subject, message, data, priority,
    template_key, template_version, locale, content, send_at, batch_id, request_id, status,
    pending_count, skipped_count, idempotency_key, created_at, updated_at)
  SELECT id, app_id, user_id, type, category, subject, message, data, priority,
    template_key, template_version, locale, content, send_at, batch_id, request_id,
    CASE WHEN pending > 0 THEN 'pending' ELSE 'skipped' END::notification_status,
    pending, skipped, idem, created_at, created_at
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
    $9::priority[], $10::text[], $11::int[], $12::text[], $13::jsonb[], $14::timestamptz[], $15::uuid[],
    $16::int[], $17::int[], $18::text[], $19::timestamptz[], $28::text[])
    AS t(id, app_id, user_id, type, category, subject, message, data, priority,
      template_key, template_version, locale, content, send_at, batch_id, pending, skipped, idem, created_at, request_id)`;

const INSERT_DELIVERIES = `INSERT INTO deliveries (id, app_id, notification_id, channel, status, reason, scheduled_for, created_at, updated_at)
  SELECT id, app_id, notification_id, channel, status, reason, scheduled_for, created_at, created_at
  FROM unnest($20::uuid[], $21::text[], $22::uuid[], $23::channel[], $24::delivery_status[], $25::text[],
    $26::timestamptz[], $27::timestamptz[]) AS t(id, app_id, notification_id, channel, status, reason, scheduled_for, created_at)`;

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

/** The 28 column arrays of INSERT_NOTIFICATIONS and INSERT_DELIVERIES, in parameter order. */
function columns(batch: PlannedNotification[]): unknown[] {
  const n = batch;
  const d = batch.flatMap((x) => x.deliveries.map((del) => ({ ...del, appId: x.appId, notificationId: x.id, createdAt: x.createdAt })));
  return [
    n.map((x) => x.id),
    n.map((x) => x.appId),
    n.map((x) => x.userId),
    n.map((x) => x.type),
    n.map((x) => x.category),
    n.map((x) => x.subject),
    n.map((x) => x.message),
    n.map((x) => json(x.data)),
    n.map((x) => x.priority),
    n.map((x) => x.template?.key ?? null),
    n.map((x) => x.template?.version ?? null),
    n.map((x) => x.locale),
    n.map((x) => json(x.content)),
    n.map((x) => x.sendAt),
    n.map((x) => x.batchId),
    n.map((x) => x.deliveries.filter((del) => del.status === 'queued').length),
    n.map((x) => x.deliveries.filter((del) => del.status === 'skipped').length),
    n.map((x) => x.idempotencyKey),
    n.map((x) => x.createdAt),
    d.map((x) => x.id),
    d.map((x) => x.appId),
    d.map((x) => x.notificationId),
    d.map((x) => x.channel),
    d.map((x) => x.status),
    d.map((x) => x.reason),
    d.map((x) => x.scheduledFor),
    d.map((x) => x.createdAt),
    n.map((x) => x.requestId),
  ];
}

/**
 * Writes notifications and all their deliveries in ONE statement (so one
 * implicit transaction): either everything is stored or nothing is.
 * Column arrays keep the statement's shape constant whatever the batch size.
 */
export async function insertNotifications(db: Queryable, batch: PlannedNotification[]): Promise<void> {
  await db.query({
    name: 'insert_notifications',
    text: `WITH n AS (${INSERT_NOTIFICATIONS}) ${INSERT_DELIVERIES}`,
    values: columns(batch),
  });
}

export interface IdempotencyClaim {
  key: string;
  requestHash: string;
  /** The response to store for replays. */
  response: unknown;
  ttlSeconds: number;
}

/**
 * Like insertNotifications for one notification, but only if its idempotency
 * key is new (or its window has passed): the key row and the notification
 * commit together. A concurrent request with the same key waits on the unique
 * key, then finds it taken. Returns false when the key was taken.
 */
export async function insertKeyedNotification(db: Queryable, planned: PlannedNotification, claim: IdempotencyClaim): Promise<boolean> {
  const { rows } = await db.query<{ claimed: boolean }>({
    name: 'insert_keyed_notification',
    text: `WITH k AS (
        INSERT INTO idempotency_keys (app_id, key, request_hash, notification_id, response, expires_at)
        VALUES (($2::text[])[1], ($18::text[])[1], $29, ($1::uuid[])[1], $30::jsonb, now() + make_interval(secs => $31))
        ON CONFLICT (app_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
          notification_id = EXCLUDED.notification_id, response = EXCLUDED.response,
          created_at = now(), expires_at = EXCLUDED.expires_at
          WHERE idempotency_keys.expires_at < now()
        RETURNING key
      ),
      n AS (${INSERT_NOTIFICATIONS} WHERE EXISTS (SELECT 1 FROM k)),
      d AS (${INSERT_DELIVERIES} WHERE EXISTS (SELECT 1 FROM k))
      SELECT EXISTS (SELECT 1 FROM k) AS claimed`,
    values: [...columns([{ ...planned, idempotencyKey: claim.key }]), claim.requestHash, JSON.stringify(claim.response), claim.ttlSeconds],
  });
  return rows[0]?.claimed ?? false;
}

/** The stored request hash and response of an idempotency key still in its window. */
export async function findIdempotencyKey(db: Queryable, appId: string, key: string): Promise<{ requestHash: string; response: unknown } | null> {
  const { rows } = await db.query<{ request_hash: string; response: unknown }>({
    name: 'find_idempotency_key',
    text: 'SELECT request_hash, response FROM idempotency_keys WHERE app_id = $1 AND key = $2 AND expires_at >= now()',
    values: [appId, key],
  });
  const row = rows[0];
  return row ? { requestHash: row.request_hash, response: row.response } : null;
}
