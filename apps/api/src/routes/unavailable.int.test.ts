import { closeDb, closeQueues, createDb, createQueues, createRedis } from '@notify/core/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const body = JSON.stringify({ user_id: 'u-down', message: 'Hello', channels: ['in_app'] });
const post = (app: ReturnType<typeof createApp>) =>
  app.request('/notifications', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body });

describe('when a backing service is down', () => {
  it('answers 503 with Retry-After and writes nothing while Redis is unreachable', async () => {
    const redis = createRedis('redis://127.0.0.1:1', 'producer', { retryStrategy: () => null });
    const queues = createQueues(redis, 'unreachable');
    const app = createApp({ ...t.deps, queues, redis });
    const res = await post(app);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await json<ErrorJson>(res)).error.code).toBe('unavailable');
    expect(await t.db.prisma.notification.count({ where: { userId: 'u-down' } })).toBe(0);
    await closeQueues(queues).catch(() => {});
    redis.disconnect();
  });

  it('answers 503 in the error shape while PostgreSQL is unreachable, for writes and reads', async () => {
    const db = createDb({ url: 'postgresql://postgres@127.0.0.1:1/none', schema: 'public', poolSize: 1, connectionTimeoutMs: 500 });
    const app = createApp({ ...t.deps, db });
    const res = await post(app);
    expect(res.status).toBe(503);
    expect((await json<ErrorJson>(res)).error.code).toBe('unavailable');
    for (const path of ['/notifications/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241', '/users/u-down', '/users/u-down/preferences', '/deliveries']) {
      const read = await app.request(path, { headers: { authorization: `Bearer ${t.key}` } });
      expect(read.status, path).toBe(503);
    }
    await closeDb(db);
  });
});
