import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardFailed, dashboardOverview, dashboardTimeline } from './dashboard.js';
import { DeliveryStats } from './delivery-stats.js';
import { finishDelivery } from '../deliveries/store.js';
import { withWriter } from '../notifications/writer.js';
import { createNotification, toOneUser } from '../notifications/notifications.js';
import { CreateNotificationBody } from '../schemas/notifications.js';
import { createTestEnv, type TestEnv } from '../testing/index.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

describe('delivery stats', () => {
  it('add up across processes: counts and latency histograms of concurrent flushes', async () => {
    const a = new DeliveryStats();
    const b = new DeliveryStats();
    for (const stats of [a, b]) {
      for (let i = 0; i < 10; i++) stats.record({ appId: t.appId, channel: 'email', priority: 'high', outcome: 'delivered', provider: 'smtp', latencySeconds: 0.07 });
      stats.record({ appId: t.appId, channel: 'email', priority: 'high', outcome: 'failed', provider: 'smtp', errorCode: 'smtp_550' });
      stats.record({ appId: t.appId, channel: 'sms', priority: 'normal', outcome: 'accepted' });
    }
    await Promise.all([a.flush(t.db.pool), b.flush(t.db.pool)]);
    await a.flush(t.db.pool); // nothing new: a no-op
    const overview = await dashboardOverview(t.db, t.appId, '1h');
    expect(overview.channels.email).toEqual({ accepted: 0, delivered: 20, failed: 2, skipped: 0 });
    expect(overview.channels.sms.accepted).toBe(2);
    expect(overview.latency).toEqual([{ channel: 'email', priority: 'high', delivered: 20, p50: expect.closeTo(0.075, 4), p95: expect.any(Number), p99: expect.any(Number) }]);
    expect(overview.failures).toEqual([{ channel: 'email', provider: 'smtp', error_code: 'smtp_550', count: 2 }]);
    expect(overview.series.points).toEqual([expect.objectContaining({ channel: 'email', delivered: 20, failed: 2 })]);
    // The day view reads the 15-minute buckets: the same totals.
    expect((await dashboardOverview(t.db, t.appId, '24h')).channels.email).toEqual({ accepted: 0, delivered: 20, failed: 2, skipped: 0 });
  });
});

describe('dashboard lookups', () => {
  it("list failed deliveries by error code and tell a notification's timeline", async () => {
    const deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log });
    const { notification } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'dash-u', message: 'x', channels: ['in_app'] })));
    const id = notification.deliveries[0]!.id;
    await finishDelivery(t.db.pool, id, {
      status: 'failed',
      provider: 'inbox',
      errorCode: 'boom',
      errorMessage: 'it broke',
      attempt: { attempt: 1, provider: 'inbox', outcome: 'permanent_error', errorCode: 'boom', errorMessage: 'it broke', durationMs: 3 },
    });
    expect((await dashboardFailed(t.db, t.appId, { errorCode: 'boom' })).map((d) => d.id)).toEqual([id]);
    expect(await dashboardFailed(t.db, t.appId, { errorCode: 'other' })).toEqual([]);
    for (const q of [notification.id, 'dash-u']) {
      const [n] = await dashboardTimeline(t.db, t.appId, q);
      expect(n!.events.map((e) => e.kind)).toEqual(['created', 'attempt', 'failed']);
      expect(n!.events[1]!.detail).toBe('attempt 1: permanent_error (boom: it broke), 3 ms');
    }
    expect(await dashboardTimeline(t.db, 'another-app', notification.id)).toEqual([]);
  });
});
