import { createEventsQueue, createFanoutQueue, newId } from '@notify/core/platform';
import { retentionStatus, uuidv7Floor } from '@notify/core/retention';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaintenance } from './maintenance.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

describe('startMaintenance', () => {
  it('removes notifications past their retention limit and keeps the younger ones', async () => {
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000);
    const insert = async (createdAt: Date) => {
      // An id of that moment, as UUIDv7 ids are.
      const id = uuidv7Floor(createdAt);
      await t.db.pool.query(
        `INSERT INTO notifications (id, app_id, user_id, priority, status, delivered_count, created_at, updated_at) VALUES ($1, $2, 'u1', 'normal', 'delivered', 1, $3, $3)`,
        [id, t.appId, createdAt],
      );
      await t.db.pool.query(`INSERT INTO deliveries (id, app_id, notification_id, channel, status) VALUES ($1, $2, $3, 'email', 'delivered')`, [newId(), t.appId, id]);
      return id;
    };
    const old = await insert(at(11));
    const youngAt = at(9);
    const young = await insert(youngAt);
    const fanout = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
    const events = createEventsQueue(t.redis, t.env.QUEUE_PREFIX);
    const stop = startMaintenance({
      pool: t.db.pool,
      redis: t.workerRedis,
      prefix: t.env.QUEUE_PREFIX,
      queues: t.queues,
      fanout,
      events,
      retry: { attempts: 4, baseDelayMs: 100 },
      log: t.log,
      intervalMs: 100,
      graceMs: 30_000,
      retention: { days: { notifications: 10, statusEvents: 10, auditEvents: 10 }, intervalMs: 60_000, budgetMs: 5000, batchSize: 1000, pauseMs: 0, dutyPercent: 100 },
    });
    try {
      const exists = async (id: string) => ((await t.db.pool.query('SELECT 1 FROM notifications WHERE id = $1', [id])).rowCount ?? 0) > 0;
      await waitFor(async () => ((await exists(old)) ? undefined : true), 10_000, 'the old notification removed');
      expect(await exists(young)).toBe(true);
      const { rows } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries');
      expect(rows[0]!.n).toBe(1);
      // The run is recorded for GET /admin/retention: the limits it applied and what it removed.
      const status = await waitFor(async () => (await retentionStatus(t.redis, t.db.pool, t.env.QUEUE_PREFIX)).last_run ?? undefined, 10_000, 'the run recorded');
      expect(status).toMatchObject({ days: { notifications: 10, status_events: 10, audit_events: 10 }, removed: { notifications: 1 }, more: false });
      expect((await retentionStatus(t.redis, t.db.pool, t.env.QUEUE_PREFIX)).oldest_notification_at).toBe(youngAt.toISOString());
    } finally {
      await stop();
      await Promise.all([fanout.close(), events.close()]);
    }
  });
});
