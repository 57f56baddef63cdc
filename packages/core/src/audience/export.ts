import { deliveryDetail } from '../deliveries/deliveries.js';
import { inboxItemView } from '../inbox/inbox.js';
import { notificationView } from '../notifications/view.js';
import type { Db } from '../platform/db.js';
import type { UserExport } from '../schemas/export.js';
import { scheduleView, type ScheduleRow } from '../schedules/store.js';
import { getPreferences } from './preferences.js';
import { getUser } from './users.js';

/**
 * Everything the service holds about one user of one app, as one document
 * (GDPR art. 15): the same views the API answers elsewhere, whole rather than
 * paged, with the user's workflow runs and the schedules naming them. 404 for a user the app does not have (or erased).
 */
export async function exportUser(db: Db, appId: string, userId: string): Promise<UserExport> {
  const user = await getUser(db, appId, userId);
  const [preferences, subscriptions, notifications, inbox, events, runs, schedules] = await Promise.all([
    getPreferences(db, appId, userId),
    db.prisma.topicSubscription.findMany({ where: { appId, userId }, orderBy: { topicKey: 'asc' } }),
    db.prisma.notification.findMany({
      where: { appId, userId },
      orderBy: { id: 'asc' },
      include: { deliveries: { include: { attemptLog: { orderBy: { id: 'asc' } }, replays: { orderBy: { createdAt: 'asc' } } } } },
    }),
    // Deleted items are tombstones with no content: nothing held about the user.
    db.prisma.inboxItem.findMany({ where: { appId, userId, deletedAt: null }, orderBy: { id: 'asc' } }),
    db.prisma.statusEvent.findMany({ where: { appId, userId }, orderBy: { id: 'asc' } }),
    db.prisma.workflowRun.findMany({ where: { appId, userId }, orderBy: { id: 'asc' } }),
    // A workflow target may name several users: each of them is shown the schedule.
    db.pool.query<ScheduleRow>(
      `SELECT id, app_id, cron, timezone, target_kind, target, content, paused, fired, last_fired_at, created_at, updated_at FROM schedules
       WHERE app_id = $1 AND (target->>'user_id' = $2 OR target->'user_ids' ? $2) ORDER BY id`,
      [appId, userId],
    ),
  ]);
  const now = new Date();
  return {
    exported_at: new Date().toISOString(),
    user,
    preferences,
    topics: subscriptions.map((s) => ({ topic: s.topicKey, subscribed_at: s.createdAt.toISOString() })),
    notifications: notifications.map((n) => ({
      ...notificationView(n),
      deliveries: [...n.deliveries]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((d) => {
          const { notification_id: _n, user_id: _u, ...detail } = deliveryDetail({ ...d, notification: { userId } });
          return detail;
        }),
    })),
    inbox: inbox.map(inboxItemView),
    status_events: events.map((e) => ({ id: e.id, type: e.type, status: e.status, payload: e.payload as Record<string, unknown>, created_at: e.createdAt.toISOString() })),
    workflow_runs: runs.map((r) => ({
      id: r.id,
      workflow_key: r.workflowKey,
      version: r.workflowVersion,
      status: r.status,
      data: r.data as Record<string, unknown>,
      created_at: r.createdAt.toISOString(),
    })),
    schedules: schedules.rows.map((row) => scheduleView(row, now)),
  };
}
