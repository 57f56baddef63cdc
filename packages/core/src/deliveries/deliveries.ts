import type { Channel, Priority } from '../platform/channels.js';
import { withTransaction, type Db } from '../platform/db.js';
import { recordAudit, type AuditActor } from '../access/audit.js';
import { countsUpdateSql, sourceIs, target } from './transitions.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid } from '../platform/ids.js';
import { deliveryView } from '../notifications/view.js';
import { requeueDeliveries } from '../outbox/outbox.js';
import type { ChannelQueues, RetryPolicy } from '../platform/queues.js';
import type { DeliveryDetail, DeliveryPage, ReplayFilter, ReplayResult } from '../schemas/deliveries.js';
import type { Delivery } from '../schemas/notifications.js';
import type { DeliveryAttempt as AttemptRow, Delivery as DeliveryRow, DeliveryReplay as ReplayRow } from '../generated/prisma/client.js';

/** Deliveries newest first, e.g. the dead letters: `status=failed`. */
export async function listDeliveries(
  db: Db,
  appId: string,
  q: { limit: number; cursor?: string | undefined; status?: Delivery['status'] | undefined; channel?: Channel | undefined },
): Promise<DeliveryPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const rows = await db.prisma.delivery.findMany({
    where: { appId, status: q.status, channel: q.channel, id: after ? { lt: after } : undefined },
    orderBy: { id: 'desc' },
    take: q.limit + 1,
    include: { notification: { select: { userId: true } } },
  });
  const page = rows.slice(0, q.limit);
  return {
    data: page.map((d) => ({ ...deliveryView(d), notification_id: d.notificationId, user_id: d.notification.userId })),
    next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}

/** A delivery with its full history: every attempt and every replay. */
export async function getDelivery(db: Db, appId: string, id: string): Promise<DeliveryDetail> {
  const d = isUuid(id)
    ? await db.prisma.delivery.findFirst({
        where: { id, appId },
        include: {
          notification: { select: { userId: true } },
          attemptLog: { orderBy: { id: 'asc' } },
          replays: { orderBy: { createdAt: 'asc' } },
        },
      })
    : null;
  if (!d) throw notFound('Delivery');
  return deliveryDetail(d);
}

/** A delivery row with its attempts and replays, as the API shows it (GET /deliveries/{id}, the user export). */
export function deliveryDetail(d: DeliveryRow & { notification: { userId: string }; attemptLog: AttemptRow[]; replays: ReplayRow[] }): DeliveryDetail {
  return {
    ...deliveryView(d),
    notification_id: d.notificationId,
    user_id: d.notification.userId,
    history: d.attemptLog.map((a) => ({
      attempt: a.attempt,
      provider: a.provider,
      outcome: a.outcome,
      error_code: a.errorCode,
      error_message: a.errorMessage,
      duration_ms: a.durationMs,
      at: a.createdAt.toISOString(),
    })),
    replays: d.replays.map((r) => ({
      id: r.id,
      previous_error_code: r.previousErrorCode,
      request_id: r.requestId,
      at: r.createdAt.toISOString(),
    })),
  };
}

export interface ReplayDeps {
  db: Db;
  queues: ChannelQueues;
  retry: RetryPolicy;
}

/**
 * Sends failed deliveries back to their queues with fresh attempts and the
 * same delivery id. The move back to `queued`, the notification's counts and a
 * replay record are one statement, committed with an audit record per
 * delivery; the jobs follow (the sweeper covers a crash in between).
 */
async function replay(deps: ReplayDeps, appId: string, where: { ids?: string[]; filter?: ReplayFilter }, requestId: string | null, by: AuditActor | undefined): Promise<string[]> {
  const f = where.filter;
  const rows = await withTransaction(deps.db.pool, async (client) => {
    const { rows } = await client.query<{ id: string; notification_id: string; channel: Channel; priority: Priority }>({
      text: `/* replay_deliveries */ WITH picked AS (
        SELECT id FROM deliveries
        WHERE app_id = $1 AND ${sourceIs('replay')}
          AND ($2::uuid[] IS NULL OR id = ANY($2))
          AND ($3::channel IS NULL OR channel = $3)
          AND ($4::text IS NULL OR last_error_code = $4)
          AND ($5::uuid IS NULL OR notification_id = $5)
        ORDER BY id LIMIT $6
        FOR UPDATE SKIP LOCKED
      ),
      moved AS (
        UPDATE deliveries d SET status = ${target('replay', 'queued')}, failed_at = NULL, updated_at = now()
        FROM picked WHERE d.id = picked.id
        RETURNING d.id, d.notification_id, d.status, d.channel, d.last_error_code
      ),
      recorded AS (
        INSERT INTO delivery_replays (id, delivery_id, previous_error_code, request_id)
        SELECT gen_random_uuid(), id, last_error_code, $7 FROM moved
      ),
      ${countsUpdateSql('moved', 'replay')}
      SELECT moved.id, moved.notification_id, moved.channel, counted.priority
      FROM moved JOIN counted ON counted.id = moved.notification_id`,
      values: [appId, where.ids ?? null, f?.channel ?? null, f?.error_code ?? null, f?.notification_id ?? null, f?.limit ?? 1000, requestId],
    });
    const summary = f ? { filter: f } : undefined;
    await recordAudit(
      client,
      by,
      rows.map((r) => ({ appId, action: 'delivery.replayed' as const, targetType: 'delivery', targetId: r.id, ...(summary ? { summary } : {}) })),
    );
    return rows;
  });
  await requeueDeliveries(
    deps.queues,
    deps.retry,
    rows.map((r) => ({ id: r.id, notificationId: r.notification_id, channel: r.channel, priority: r.priority, notBefore: null })),
  );
  return rows.map((r) => r.id);
}

/** Replays one failed delivery: 404 if unknown, 409 unless it is `failed`. */
export async function replayDelivery(deps: ReplayDeps, appId: string, id: string, requestId: string | null, by?: AuditActor): Promise<DeliveryDetail> {
  const current = await getDelivery(deps.db, appId, id);
  const replayed = await replay(deps, appId, { ids: [id] }, requestId, by);
  if (replayed.length === 0) {
    throw new AppError('conflict', `Only a failed delivery can be replayed; this one is ${current.status}`);
  }
  return getDelivery(deps.db, appId, id);
}

/** Replays failed deliveries matching the filter, up to its limit. */
export async function replayFailed(deps: ReplayDeps, appId: string, filter: ReplayFilter, requestId: string | null, by?: AuditActor): Promise<ReplayResult> {
  const ids = await replay(deps, appId, { filter }, requestId, by);
  return { replayed: ids.length, delivery_ids: ids };
}
