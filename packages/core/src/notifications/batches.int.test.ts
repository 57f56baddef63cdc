import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopicNotification, FANOUT_CHUNK, fanoutStep, getBatch } from './batches.js';
import type { NotificationDeps } from './accept.js';
import { createFanoutQueue } from '../platform/queues.js';
import { createTestEnv, type TestEnv } from '../testing/index.js';

let t: TestEnv;
let deps: NotificationDeps;

beforeAll(async () => {
  t = await createTestEnv();
  deps = { db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, fanout: createFanoutQueue(t.redis, t.env.QUEUE_PREFIX) };
  const users = Array.from({ length: 2500 }, (_, i) => `u-${String(i).padStart(4, '0')}`);
  await t.db.prisma.topic.create({ data: { appId: t.appId, key: 'all' } });
  await t.db.prisma.topicSubscription.createMany({ data: users.map((userId) => ({ appId: t.appId, topicKey: 'all', userId })) });
});
afterAll(async () => {
  await deps?.fanout?.close();
  await t?.close();
});

const notificationsOf = async (batchId: string) =>
  (await t.db.pool.query<{ n: number; users: number }>('SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM notifications WHERE batch_id = $1', [batchId]))
    .rows[0]!;

describe('topic fan-out steps', () => {
  it('create one chunk each, resumable from the cursor, and finish the batch', async () => {
    const { response: batch } = await createTopicNotification(deps, t.appId, 'all', { message: 'x', channels: ['in_app'], priority: 'normal' });
    expect(await fanoutStep(deps, batch.id)).toBe(true);
    expect(await notificationsOf(batch.id)).toEqual({ n: FANOUT_CHUNK, users: FANOUT_CHUNK });
    // A crash here loses nothing: the next step continues after the cursor.
    while (await fanoutStep(deps, batch.id));
    expect(await notificationsOf(batch.id)).toEqual({ n: 2500, users: 2500 });
    expect(await getBatch(t.db, t.appId, batch.id)).toMatchObject({ status: 'created', notifications: 2500 });
    expect(await fanoutStep(deps, batch.id)).toBe(false);
  });

  it('never notify a subscriber twice, even when two processors run the same fan-out at once', async () => {
    const { response: batch } = await createTopicNotification(deps, t.appId, 'all', { message: 'y', channels: ['in_app'], priority: 'normal' });
    const run = async () => {
      while (await fanoutStep(deps, batch.id));
    };
    await Promise.all([run(), run(), run()]);
    expect(await notificationsOf(batch.id)).toEqual({ n: 2500, users: 2500 });
  });
});
