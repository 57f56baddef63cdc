// Cancelling a large topic fan-out while the fan-out and channel workers run: it stops, and nothing not yet sent reaches the provider.
import { createFanoutQueue, newId, type FanoutJob } from '@notify/core/platform';
import { cancelBatch, getBatch, type NotificationDeps } from '@notify/core/notifications';
import { addFanoutJob } from '@notify/core/outbox';
import { createSimulatedProvider, type Provider } from '@notify/core/channels';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import type { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker, createFanoutWorker } from '../channel-worker.js';
import { testWorkerOptions } from '../testing/test-worker.js';

const SUBSCRIBERS = 50_000;

let t: TestEnv;
let fanoutQueue: Queue<FanoutJob>;
const workers: Worker[] = [];
const sent = new Set<string>();

beforeAll(async () => {
  t = await createTestEnv();
  fanoutQueue = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
  await t.db.prisma.topic.create({ data: { appId: t.appId, key: 'everyone' } });
  // One statement for all of them: the topic's size is the point, not how it was filled.
  await t.db.pool.query(`INSERT INTO topic_subscriptions (app_id, topic_key, user_id) SELECT $1, 'everyone', 'u-' || lpad(g::text, 6, '0') FROM generate_series(1, $2::int) g`, [
    t.appId,
    SUBSCRIBERS,
  ]);
  const simulated = createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false });
  // Records every delivery handed to the provider.
  const recording: Provider = {
    name: simulated.name,
    channels: simulated.channels,
    send(envelope, ctx) {
      sent.add(ctx.deliveryId);
      return simulated.send(envelope, ctx);
    },
  };
  const deps: NotificationDeps = { db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, fanout: fanoutQueue };
  workers.push(createFanoutWorker({ connection: t.workerRedis, prefix: t.env.QUEUE_PREFIX, deps, log: t.log }));
  workers.push(createChannelWorker(testWorkerOptions(t, 'in_app', recording, { concurrency: 20 })));
}, 60_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await fanoutQueue?.close();
  await t?.close();
});

describe('cancelling a topic fan-out', () => {
  it(`a ${SUBSCRIBERS.toLocaleString('en')}-subscriber send cancelled mid-fan-out stops, and nothing not yet sent is sent`, async () => {
    const deps: NotificationDeps = { db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, fanout: fanoutQueue };
    // The batch and its job as POST /notifications with a topic (confirmed) writes them.
    const id = newId();
    await t.db.pool.query(`INSERT INTO batches (id, app_id, kind, topic_key, request, status) VALUES ($1, $2, 'topic', 'everyone', $3, 'creating')`, [
      id,
      t.appId,
      JSON.stringify({ message: 'Big news', channels: ['in_app'], priority: 'normal' }),
    ]);
    await addFanoutJob(fanoutQueue, id);
    // Some chunks written and some deliveries sent, but far from all of them.
    await waitFor(async () => ((await getBatch(t.db, t.appId, id)).notifications >= 3000 && sent.size > 0) || undefined, 60_000, 'the fan-out under way');

    const result = await cancelBatch(deps, t.appId, id);
    expect(result.fanout_stopped).toBe(true);
    expect(result.cancelled_deliveries).toBeGreaterThan(0);
    const created = result.batch.notifications;
    expect(created).toBeLessThan(SUBSCRIBERS);

    // The fan-out job ends at its next chunk, and deliveries being sent at the cancel finish.
    await waitFor(async () => (await fanoutQueue.getJobCountByTypes('active', 'waiting', 'prioritized')) === 0 || undefined, 30_000, 'the fan-out job to end');
    const settled = await waitFor(
      async () => {
        const b = await getBatch(t.db, t.appId, id);
        return b.by_status.pending === 0 ? b : undefined;
      },
      30_000,
      'the deliveries being sent to finish',
    );
    // Let any job still queued run: a cancelled delivery must never reach the provider.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(settled).toMatchObject({ status: 'cancelled', notifications: created });
    expect(settled.deliveries.cancelled).toBe(result.cancelled_deliveries);
    expect((settled.deliveries.delivered ?? 0) + (settled.deliveries.cancelled ?? 0)).toBe(created);

    const { rows } = await t.db.pool.query<{ id: string; status: string }>(
      'SELECT d.id, d.status FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.batch_id = $1',
      [id],
    );
    const cancelled = rows.filter((r) => r.status === 'cancelled').map((r) => r.id);
    expect(cancelled.filter((d) => sent.has(d))).toEqual([]);
    expect(sent.size).toBe(settled.deliveries.delivered);
    expect((await getBatch(t.db, t.appId, id)).notifications).toBe(created);
  }, 120_000);
});
