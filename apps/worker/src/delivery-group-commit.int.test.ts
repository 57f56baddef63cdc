import { createEventsQueue, newId } from '@notify/core/platform';
import { createNotification, toOneUser, withWriter } from '@notify/core/notifications';
import { CreateNotificationBody } from '@notify/core/schemas';
import { countingPool, createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryGroupCommit } from './delivery-group-commit.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

describe('DeliveryGroupCommit', () => {
  it('claims and finishes concurrent jobs in a few statements, each outcome recorded once with its status event', async () => {
    const deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log });
    await t.db.prisma.statusWebhook.create({ data: { id: newId(), appId: t.appId, url: 'https://example.com/hook', secret: 'whsec_x', events: ['delivery.delivered'] } });
    const ids = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const { notification } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: `db-${i}`, message: 'x', channels: ['in_app'] })));
        return notification.deliveries[0]!.id;
      }),
    );
    const events = createEventsQueue(t.redis, t.env.QUEUE_PREFIX);
    const counted = countingPool(t.db.pool);
    const commits = new DeliveryGroupCommit({ pool: counted.pool, log: t.log, dbRetryMs: 1000, events });

    const claimed = await Promise.all(ids.map((id) => commits.claim(id)));
    expect(claimed.map((c) => c?.id)).toEqual(ids);
    await Promise.all(ids.map((id) => commits.finish(id, { status: 'delivered', provider: 'inbox', providerMessageId: `m-${id}` })));
    expect(counted.count('claim_deliveries')).toBeLessThan(10);
    expect(counted.count('finish_deliveries')).toBeLessThan(10);

    const rows = await t.db.prisma.delivery.findMany({ where: { id: { in: ids } } });
    expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1)).toBe(true);
    expect(await t.db.prisma.notification.count({ where: { deliveries: { some: { id: { in: ids } } }, deliveredCount: 1, status: 'delivered' } })).toBe(40);
    expect(await events.count()).toBe(40);
    // A finished delivery is not claimed again.
    expect(await commits.claim(ids[0]!)).toBeNull();
    await events.close();
  });

  it('gives critical jobs their own lane: a critical claim commits while the normal lane is stuck', async () => {
    const deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log });
    const deliveryOf = async (user: string) =>
      (await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: user, message: 'x', channels: ['in_app'] })))).notification.deliveries[0]!.id;
    const [a, b, urgent] = [await deliveryOf('lane-a'), await deliveryOf('lane-b'), await deliveryOf('lane-c')];
    const commits = new DeliveryGroupCommit({ pool: t.db.pool, log: t.log, dbRetryMs: 1000 });
    // Another transaction holds the two normal rows, so both normal batches (its whole lane) wait.
    const holder = await t.db.pool.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM deliveries WHERE id = ANY($1::uuid[]) FOR UPDATE', [[a, b]]);
    try {
      const first = commits.claim(a);
      await new Promise((resolve) => setImmediate(resolve));
      const second = commits.claim(b);
      expect((await commits.claim(urgent, true))?.id).toBe(urgent);
      await holder.query('COMMIT');
      expect((await first)?.id).toBe(a);
      expect((await second)?.id).toBe(b);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
    }
  });
});
