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
    text: `/* insert_notifications */ WITH n AS (${INSERT_NOTIFICATIONS}) ${INSERT_DELIVERIES}`,
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
 * Claims an idempotency key for what a request creates (one notification or
 * one batch): a new key, or one whose window has passed, is written; a key
 * taken by a live request is left alone and nothing is returned. A concurrent
 * request with the same key waits on the primary key until the first one
 * commits (then finds it taken) or rolls back (then claims it): the database
 * decides, not timing. `values` are SQL expressions for app id, key, request
 * hash, notification id, batch id, response and TTL in seconds.
 */
function claimKeySql(values: [string, string, string, string, string, string, string]): string {
  const [appId, key, hash, notificationId, batchId, response, ttl] = values;
  return `INSERT INTO idempotency_keys (app_id, key, request_hash, notification_id, batch_id, response, expires_at)
    VALUES (${appId}, ${key}, ${hash}, ${notificationId}, ${batchId}, ${response}, now() + make_interval(secs => ${ttl}))
    ON CONFLICT (app_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
      notification_id = EXCLUDED.notification_id, batch_id = EXCLUDED.batch_id, response = EXCLUDED.response,
      created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at < now()
    RETURNING key`;
}

/**
 * Like insertNotifications for one notification, but only if its idempotency
 * key is claimed (claimKeySql) in the same statement: the key row and the
 * notification commit together. Returns false when the key was taken.
 */
export async function insertKeyedNotification(db: Queryable, planned: PlannedNotification, claim: IdempotencyClaim): Promise<boolean> {
  const { rows } = await db.query<{ claimed: boolean }>({
    text: `/* insert_keyed_notification */ WITH k AS (${claimKeySql(['($2::text[])[1]', '($18::text[])[1]', '$29', '($1::uuid[])[1]', 'NULL', '$30::jsonb', '$31'])}),
      n AS (${INSERT_NOTIFICATIONS} WHERE EXISTS (SELECT 1 FROM k)),
      d AS (${INSERT_DELIVERIES} WHERE EXISTS (SELECT 1 FROM k))
      SELECT EXISTS (SELECT 1 FROM k) AS claimed`,
    values: [...columns([{ ...planned, idempotencyKey: claim.key }]), claim.requestHash, JSON.stringify(claim.response), claim.ttlSeconds],
  });
  return rows[0]?.claimed ?? false;
}

/**
 * Claims an idempotency key for a batch (bulk or topic), as the first
 * statement of the transaction that writes the batch, so the key and the
 * batch commit together. Returns false when the key was taken.
 */
export async function claimBatchKey(db: Queryable, appId: string, batchId: string, claim: IdempotencyClaim): Promise<boolean> {
  const { rowCount } = await db.query({
    text: `/* claim_batch_key */ ${claimKeySql(['$1', '$2', '$3', 'NULL', '$4::uuid', '$5::jsonb', '$6'])}`,
    values: [appId, claim.key, claim.requestHash, batchId, JSON.stringify(claim.response), claim.ttlSeconds],
  });
  return (rowCount ?? 0) > 0;
}

/** The stored request hash and response of an idempotency key still in its window. */
export async function findIdempotencyKey(db: Queryable, appId: string, key: string): Promise<{ requestHash: string; response: unknown } | null> {
  const { rows } = await db.query<{ request_hash: string; response: unknown }>({
    text: '/* find_idempotency_key */ SELECT request_hash, response FROM idempotency_keys WHERE app_id = $1 AND key = $2 AND expires_at >= now()',
    values: [appId, key],
  });
  const row = rows[0];
  return row ? { requestHash: row.request_hash, response: row.response } : null;
}
