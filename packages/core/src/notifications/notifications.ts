import type { Channel } from '../platform/channels.js';
import { withTransaction, type Db } from '../platform/db.js';
import { recordAudit, type AuditActor } from '../access/audit.js';
import { countsUpdateSql, sourceIs, target } from '../deliveries/transitions.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor } from '../platform/ids.js';
import {
  enqueueAfterCommit,
  insertPlannedOnce,
  insertWithKey,
  prepareNotifications,
  replayOf,
  resolveRequest,
  type Idempotency,
  type Keyed,
  type NotificationDeps,
} from './accept.js';
import { notificationView, plannedView } from './view.js';
import type { NotificationWriter } from './writer.js';
import { statusEventsSql } from '../status-webhooks/events.js';
import { enqueueStatusEvents } from '../status-webhooks/endpoints.js';
import type { CreateNotificationBody, Notification, NotificationPage } from '../schemas/notifications.js';

export interface CreateResult {
  notification: Notification;
  /** True when an earlier request with the same Idempotency-Key created it. */
  replayed: boolean;
}

const created = ({ response, replayed }: Keyed<Notification>): CreateResult => ({ notification: response, replayed });

export type UserNotificationBody = CreateNotificationBody & { user_id: string };

/** A request to one user (the schema allows a topic instead; this narrows it). */
export function toOneUser(body: CreateNotificationBody): UserNotificationBody {
  if (body.user_id === undefined) throw new AppError('validation_failed', 'The request is not valid', [{ path: 'user_id', message: 'required' }]);
  return { ...body, user_id: body.user_id };
}

/**
 * Stores a notification to one user with its deliveries, then enqueues one
 * job per queued delivery (without a key, through the group-committing
 * writer). The deliveries table is the outbox: if enqueueing
 * fails after the commit, the sweeper re-adds the jobs, so the notification is
 * still accepted. With an idempotency key, a repeat of the same request
 * answers the first response and creates nothing; the same key with another
 * body is refused.
 */
export async function createNotification(
  deps: NotificationDeps & { writer: NotificationWriter },
  appId: string,
  body: UserNotificationBody,
  idempotency?: Idempotency,
): Promise<CreateResult> {
  if (idempotency) {
    const replay = await replayOf<Notification>(deps, appId, idempotency);
    if (replay) return created(replay);
  }
  const spec = await resolveRequest(deps, appId, body);
  if (!idempotency) {
    return { notification: plannedView(await deps.writer.write(spec, body.user_id)), replayed: false };
  }
  const { planned, failures } = await prepareNotifications(deps.db.pool, spec, [{ userId: body.user_id, path: '' }]);
  if (failures[0]) throw failures[0];
  const notification = planned[0]!;
  const result = await insertWithKey(deps, appId, idempotency, plannedView(notification), (claim) => insertPlannedOnce(deps.db.pool, notification, claim!));
  if (!result.replayed) await enqueueAfterCommit(deps, [notification]);
  return created(result);
}

export async function getNotification(db: Db, appId: string, id: string): Promise<Notification> {
  const row = await db.prisma.notification.findFirst({ where: { id, appId }, include: { deliveries: true } });
  if (!row) throw notFound('Notification');
  return notificationView(row);
}

/**
 * Cancels the deliveries not yet handed to a provider (queued, scheduled or
 * waiting to retry) and removes their jobs. A delivery being sent right now
 * finishes. 409 when nothing was left to cancel (and no audit record).
 */
export async function cancelNotification(deps: NotificationDeps, appId: string, id: string, by?: AuditActor): Promise<Notification> {
  const exists = await deps.db.prisma.notification.count({ where: { id, appId } });
  if (!exists) throw notFound('Notification');
  const rows = await withTransaction(deps.db.pool, async (client) => {
    const { rows } = await client.query<{ id: string; channel: Channel; event_ids: string[] | null }>({
      text: `/* cancel_notification */ WITH moved AS (
        UPDATE deliveries SET status = ${target('cancel', 'cancelled')}, reason = 'cancelled', updated_at = now()
        WHERE notification_id = $1 AND ${sourceIs('cancel')}
        RETURNING id, notification_id, status, channel
      ),
      ${countsUpdateSql('moved', 'cancel')},
      ${statusEventsSql(null)}
      SELECT moved.id, moved.channel, (SELECT array_agg(id) FROM events) AS event_ids FROM moved`,
      values: [id],
    });
    const summary = { channels: rows.map((r) => r.channel) };
    if (rows.length > 0) await recordAudit(client, by, { appId, action: 'notification.cancelled', targetType: 'notification', targetId: id, summary });
    return rows;
  });
  await enqueueStatusEvents(deps.events, rows[0]?.event_ids ?? [], deps.log);
  // The rows are what matters (a worker skips a cancelled delivery); removing the jobs is tidiness.
  await Promise.all(rows.map((r) => deps.queues[r.channel].remove(r.id).catch(() => 0)));
  const notification = await getNotification(deps.db, appId, id);
  if (rows.length === 0) {
    throw new AppError(
      'conflict',
      'Nothing to cancel: every delivery is already being sent or finished',
      notification.deliveries.map((d) => ({ path: `deliveries.${d.channel}`, message: d.status })),
    );
  }
  return notification;
}

export async function listUserNotifications(
  db: Db,
  appId: string,
  userId: string,
  query: { limit: number; cursor?: string | undefined; status?: Notification['status'] | undefined },
): Promise<NotificationPage> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const rows = await db.prisma.notification.findMany({
    where: { appId, userId, status: query.status, id: after ? { lt: after } : undefined },
    orderBy: { id: 'desc' },
    take: query.limit + 1,
    include: { deliveries: true },
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    data: page.map(notificationView),
    next_cursor: rows.length > query.limit && last ? encodeCursor(last.id) : null,
  };
}
