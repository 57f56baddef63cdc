import { withTransaction, type Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import {
  checkRendersInEveryLocale,
  enqueueAfterCommit,
  insertBatchOnce,
  insertPlanned,
  insertWithKey,
  prepareNotifications,
  replayOf,
  resolveRequest,
  type Idempotency,
  type Keyed,
  type NotificationDeps,
} from './accept.js';
import type { PlannedNotification } from './plan.js';
import type { SpecInput } from './spec.js';
import type { IdempotencyClaim } from './store.js';
import { addFanoutJob } from '../outbox/outbox.js';
import { confirmRecipients, DEFAULT_CONFIRM_THRESHOLD, topicRecipientCount, type AudienceConfirmation } from './audience-guard.js';
import { DeliveryStatus, NotificationStatus, type Batch, type BulkBody } from '../schemas/notifications.js';

/**
 * Up to 1,000 recipients in one request: every notification and delivery is
 * written in one transaction (multi-row statements), then the jobs are added
 * with one addBulk per channel. A recipient whose data cannot render the
 * template refuses the whole request (422, naming the recipient). With an
 * Idempotency-Key, the key is claimed in that same transaction, so retries
 * of one request make one batch and answer its first response.
 */
export async function createBulk(
  deps: NotificationDeps,
  appId: string,
  body: BulkBody,
  idempotency?: Idempotency,
  audience: AudienceConfirmation = { threshold: DEFAULT_CONFIRM_THRESHOLD },
): Promise<Keyed<Batch>> {
  const ids = body.recipients.map((r) => r.user_id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length > 0) {
    throw new AppError('validation_failed', 'The request is not valid', [{ path: 'recipients', message: `repeats user ${dupes[0]}` }]);
  }
  if (idempotency) {
    const replay = await replayOf<Batch>(deps, appId, idempotency);
    if (replay) return replay;
  }
  confirmRecipients(body.recipients.length, audience);
  const batchId = newId();
  const { recipients: list, ...input } = body;
  const spec = await resolveRequest(deps, appId, input, batchId);
  const { planned, failures, now } = await prepareNotifications(
    deps.db.pool,
    spec,
    list.map((r, i) => ({ userId: r.user_id, path: `recipients.${i}.`, data: r.data })),
  );
  if (failures.length > 0) {
    throw new AppError(
      'validation_failed',
      'The template does not render for some recipients',
      failures.flatMap((f) => f.details ?? []),
    );
  }

  const write = (claim: IdempotencyClaim | undefined) =>
    withTransaction(deps.db.pool, (client) =>
      insertBatchOnce(client, appId, batchId, claim, async () => {
        await client.query(`INSERT INTO batches (id, app_id, kind, request, status, created, created_at, updated_at) VALUES ($1, $2, 'bulk', $3, 'created', $4, $5, $5)`, [
          batchId,
          appId,
          JSON.stringify(input),
          planned.length,
          now,
        ]);
        await insertPlanned(client, planned);
      }),
    );
  // The answer is what this transaction writes, known before it runs, so it is stored with the key.
  const view = batchView(
    { id: batchId, kind: 'bulk', topicKey: null, status: 'created', createdAt: now },
    countBy(planned, notificationStatus),
    countBy(
      planned.flatMap((n) => n.deliveries),
      (d) => d.status,
    ),
  );
  const result = await insertWithKey(deps, appId, idempotency, view, write);
  if (!result.replayed) await enqueueAfterCommit(deps, planned);
  return result;
}

/** The status insertNotifications gives a planned notification. */
const notificationStatus = (n: PlannedNotification): string => (n.deliveries.some((d) => d.status === 'queued') ? 'pending' : 'skipped');

function countBy<T>(items: T[], key: (item: T) => string): StatusCount[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].map(([status, n]) => ({ status, n }));
}

/** How much of a topic fan-out one job step creates: bounded memory whatever the topic's size. */
export const FANOUT_CHUNK = 1000;

/**
 * Notifies every subscriber of a topic: checked now (the template must render
 * in every locale with the shared data), created in the background by a
 * fan-out job that walks the subscribers in chunks. Answers the batch as
 * created (no notification yet). With an Idempotency-Key, the key and the
 * batch commit together, so retries start one fan-out.
 */
export async function createTopicNotification(
  deps: NotificationDeps,
  appId: string,
  topic: string,
  input: SpecInput,
  idempotency?: Idempotency,
  audience: AudienceConfirmation = { threshold: DEFAULT_CONFIRM_THRESHOLD },
): Promise<Keyed<Batch>> {
  if (!deps.fanout) throw new Error('createTopicNotification needs the fan-out queue');
  if (idempotency) {
    const replay = await replayOf<Batch>(deps, appId, idempotency);
    if (replay) return replay;
  }
  const exists = await deps.db.prisma.topic.findUnique({ where: { appId_key: { appId, key: topic } } });
  if (!exists) throw notFound('Topic');
  confirmRecipients(await topicRecipientCount(deps.db.pool, appId, topic), audience);
  const batchId = newId();
  const spec = await resolveRequest(deps, appId, input, batchId);
  await checkRendersInEveryLocale(spec);
  // Pin the template version: subscribers reached later still get what this request saw.
  const request: SpecInput = { ...input, template_version: spec.template?.version };
  const now = new Date();
  const write = (claim: IdempotencyClaim | undefined) =>
    withTransaction(deps.db.pool, (client) =>
      insertBatchOnce(client, appId, batchId, claim, async () => {
        await client.query(`INSERT INTO batches (id, app_id, kind, topic_key, request, status, created_at, updated_at) VALUES ($1, $2, 'topic', $3, $4, 'creating', $5, $5)`, [
          batchId,
          appId,
          topic,
          JSON.stringify(request),
          now,
        ]);
      }),
    );
  const view = batchView({ id: batchId, kind: 'topic', topicKey: topic, status: 'creating', createdAt: now }, [], []);
  const result = await insertWithKey(deps, appId, idempotency, view, write);
  if (result.replayed) return result;
  try {
    await addFanoutJob(deps.fanout, batchId, deps.requestId);
  } catch (err) {
    deps.log.warn({ err, batch_id: batchId }, 'fan-out enqueue failed; the sweeper will re-add it');
  }
  return result;
}

/**
 * One step of a topic fan-out: the next chunk of subscribers after the
 * batch's cursor, planned and inserted in the same transaction that moves the
 * cursor, so a step that crashes is redone from where it was and no
 * subscriber is notified twice. Returns false when the fan-out is done.
 */
export async function fanoutStep(deps: NotificationDeps, batchId: string): Promise<boolean> {
  let planned: PlannedNotification[] | null;
  try {
    planned = await fanoutChunk(deps, batchId);
  } catch (err) {
    // The request is fixed, so a template that cannot render (too expensive, too large, bad data) never will: stop here.
    if (err instanceof AppError && FATAL_FANOUT.has(err.code)) {
      await deps.db.pool.query(`UPDATE batches SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'creating'`, [batchId]);
      deps.log.warn({ batch_id: batchId, code: err.code, details: err.details }, 'topic fan-out failed: its template cannot render');
    }
    throw err;
  }
  if (!planned) return false;
  await enqueueAfterCommit(deps, planned);
  return true;
}

/** Render failures that end a fan-out (the batch becomes `failed`) instead of being retried. */
export const FATAL_FANOUT: ReadonlySet<string> = new Set(['template_too_expensive', 'template_output_too_large', 'validation_failed']);

async function fanoutChunk(deps: NotificationDeps, batchId: string): Promise<PlannedNotification[] | null> {
  return withTransaction(deps.db.pool, async (client): Promise<PlannedNotification[] | null> => {
    const { rows } = await client.query<{ app_id: string; topic_key: string; request: SpecInput; status: string; cursor: string | null }>(
      'SELECT app_id, topic_key, request, status, cursor FROM batches WHERE id = $1 FOR UPDATE',
      [batchId],
    );
    const batch = rows[0];
    // Checked before every chunk, under the row lock cancelBatch's update waits on: a cancelled (or failed) batch stops here.
    if (batch?.status !== 'creating') return null;
    const { rows: subscribers } = await client.query<{ user_id: string }>(
      `SELECT user_id FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2 AND user_id > $3 ORDER BY user_id LIMIT $4`,
      [batch.app_id, batch.topic_key, batch.cursor ?? '', FANOUT_CHUNK],
    );
    if (subscribers.length === 0) {
      await client.query(`UPDATE batches SET status = 'created', updated_at = now() WHERE id = $1`, [batchId]);
      return null;
    }
    const spec = await resolveRequest(deps, batch.app_id, batch.request, batchId);
    const userIds = subscribers.map((s) => s.user_id);
    // The chunk's rendering is one render-pool task, under the same budget as a request's.
    const { planned: chunk, failures } = await prepareNotifications(
      client,
      spec,
      userIds.map((userId) => ({ userId, path: '' })),
    );
    if (failures[0]) throw failures[0];
    await insertPlanned(client, chunk);
    await client.query(`UPDATE batches SET cursor = $2, created = created + $3, updated_at = now() WHERE id = $1`, [batchId, userIds.at(-1), chunk.length]);
    return chunk;
  });
}

export async function getBatch(db: Db, appId: string, id: string): Promise<Batch> {
  const batch = isUuid(id) ? await db.prisma.batch.findFirst({ where: { id, appId } }) : null;
  if (!batch) throw notFound('Batch');
  const [notifications, deliveries] = await Promise.all([
    db.pool.query<StatusCount>('SELECT status, count(*)::int AS n FROM notifications WHERE batch_id = $1 GROUP BY status', [id]),
    db.pool.query<StatusCount>(
      `SELECT d.status, count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id
       WHERE n.batch_id = $1 GROUP BY d.status`,
      [id],
    ),
  ]);
  return batchView(batch, notifications.rows, deliveries.rows);
}

interface StatusCount {
  status: string;
  n: number;
}

/** A batch's API shape from its row and its notifications and deliveries counted by status. */
function batchView(batch: { id: string; kind: string; topicKey: string | null; status: string; createdAt: Date }, notifications: StatusCount[], deliveries: StatusCount[]): Batch {
  const count = (rows: StatusCount[], statuses: readonly string[]) => Object.fromEntries(statuses.map((s) => [s, rows.find((r) => r.status === s)?.n ?? 0]));
  const byStatus = count(notifications, NotificationStatus.options);
  const created = notifications.reduce((sum, r) => sum + r.n, 0);
  return {
    id: batch.id,
    kind: batch.kind as Batch['kind'],
    topic: batch.topicKey,
    status: batch.status as Batch['status'],
    complete: (batch.status === 'created' || batch.status === 'cancelled') && byStatus.pending === 0,
    notifications: created,
    by_status: byStatus,
    deliveries: count(deliveries, DeliveryStatus.options),
    created_at: batch.createdAt.toISOString(),
  };
}
