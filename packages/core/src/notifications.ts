import type { Db } from './db.js';
import { hasContact } from './contacts.js';
import { notFound, AppError } from './errors.js';
import { decodeCursor, encodeCursor, newId } from './ids.js';
import type { Logger } from './logger.js';
import {
  insertNotifications,
  loadRecipients,
  type PlannedNotification,
  type RecipientWithPreferences,
} from './notification-store.js';
import { notificationView } from './notification-view.js';
import { deliveryJobOptions, type ChannelQueues, type RetryPolicy } from './queues.js';
import type { CreateNotificationBody, Notification, NotificationPage } from './schemas/notifications.js';
import type { Channel, Priority } from './channels.js';

export interface NotificationDeps {
  db: Db;
  queues: ChannelQueues;
  retry: RetryPolicy;
  log: Logger;
}

/** Decides each channel's fate: queued, or skipped with the reason. Pure. */
export function planNotification(
  appId: string,
  body: CreateNotificationBody,
  recipient: RecipientWithPreferences | undefined,
  now: Date,
): PlannedNotification {
  return {
    id: newId(),
    appId,
    userId: body.user_id,
    type: body.type ?? null,
    subject: body.subject ?? null,
    message: body.message,
    data: body.data ?? null,
    priority: body.priority,
    idempotencyKey: null,
    createdAt: now,
    deliveries: body.channels.map((channel) => {
      const reason = recipient?.optedOut.has(channel)
        ? 'opted_out'
        : hasContact(channel, recipient)
          ? null
          : 'no_contact';
      return { id: newId(), channel, status: reason ? 'skipped' : 'queued', reason };
    }),
  };
}

/**
 * Stores a notification with its deliveries, then enqueues one job per queued
 * delivery. The deliveries table is the outbox: if enqueueing fails after the
 * commit, the sweeper re-adds the jobs, so the notification is still accepted.
 */
export async function createNotification(
  deps: NotificationDeps,
  appId: string,
  body: CreateNotificationBody,
): Promise<Notification> {
  const recipients = await loadRecipients(deps.db.pool, appId, [body.user_id]);
  const planned = planNotification(appId, body, recipients.get(body.user_id), new Date());
  await insertNotifications(deps.db.pool, [planned]);
  try {
    await enqueueDeliveries(deps.queues, deps.retry, [planned]);
  } catch (err) {
    deps.log.warn({ err, notification_id: planned.id }, 'enqueue failed after commit; the sweeper will re-add the jobs');
  }
  return plannedView(planned);
}

export interface QueuedDelivery {
  id: string;
  notificationId: string;
  channel: Channel;
  priority: Priority;
}

/** Adds jobs for queued deliveries, one round trip per channel queue. */
export async function addDeliveryJobs(
  queues: ChannelQueues,
  retry: RetryPolicy,
  deliveries: QueuedDelivery[],
): Promise<void> {
  const byChannel = new Map<Channel, QueuedDelivery[]>();
  for (const d of deliveries) byChannel.set(d.channel, [...(byChannel.get(d.channel) ?? []), d]);
  await Promise.all(
    [...byChannel].map(([channel, ds]) =>
      queues[channel].addBulk(
        ds.map((d) => ({
          name: 'deliver',
          data: { delivery_id: d.id, notification_id: d.notificationId, channel },
          opts: deliveryJobOptions(d.id, d.priority, retry),
        })),
      ),
    ),
  );
}

function enqueueDeliveries(queues: ChannelQueues, retry: RetryPolicy, batch: PlannedNotification[]) {
  return addDeliveryJobs(
    queues,
    retry,
    batch.flatMap((n) =>
      n.deliveries
        .filter((d) => d.status === 'queued')
        .map((d) => ({ id: d.id, notificationId: n.id, channel: d.channel, priority: n.priority })),
    ),
  );
}

function plannedView(n: PlannedNotification): Notification {
  const at = n.createdAt.toISOString();
  const pending = n.deliveries.some((d) => d.status === 'queued');
  return {
    id: n.id,
    user_id: n.userId,
    type: n.type,
    subject: n.subject,
    message: n.message,
    data: n.data,
    priority: n.priority,
    status: pending ? 'pending' : 'skipped',
    created_at: at,
    updated_at: at,
    deliveries: n.deliveries.map((d) => ({
      id: d.id,
      channel: d.channel,
      status: d.status,
      reason: d.reason,
      attempts: 0,
      last_error: null,
      provider: null,
      provider_message_id: null,
      created_at: at,
      updated_at: at,
      delivered_at: null,
      failed_at: null,
    })),
  };
}

export async function getNotification(db: Db, appId: string, id: string): Promise<Notification> {
  const row = await db.prisma.notification.findFirst({ where: { id, appId }, include: { deliveries: true } });
  if (!row) throw notFound('Notification');
  return notificationView(row);
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
