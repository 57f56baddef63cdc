import { createDb, createQueues, createRedis, createLogger, closeDb, closeQueues } from '@notify/core/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('health and readiness', () => {
  it('/health answers while the process is alive', async () => {
    const res = await t.call('GET', '/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/ready checks PostgreSQL and Redis', async () => {
    const res = await t.call('GET', '/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('/ready answers 503 naming each backing service that does not answer', async () => {
    // Nothing listens on port 1.
    const db = createDb({ url: 'postgresql://postgres@127.0.0.1:1/none', schema: 'public', poolSize: 1, connectionTimeoutMs: 500 });
    const redis = createRedis('redis://127.0.0.1:1', 'producer', { retryStrategy: () => null });
    const queues = createQueues(redis, 'unreachable');
    const app = createApp({ ...t.deps, db, queues, redis, log: createLogger('silent') });
    const res = await app.request('/ready');
    expect(res.status).toBe(503);
    const { error } = await json<ErrorJson>(res);
    expect(error.code).toBe('unavailable');
    expect(error.details?.map((d) => d.path)).toEqual(['postgres', 'redis']);
    await closeQueues(queues).catch(() => {});
    redis.disconnect();
    await closeDb(db);
  });
});

describe('Bull Board', () => {
  it('serves the board to operators and lists every queue', async () => {
    expect((await t.call('GET', '/admin/queues', undefined, { authorization: adminHeader })).status).toBe(200);
    const res = await t.call('GET', '/admin/queues/api/queues', undefined, { authorization: adminHeader });
    expect(res.status).toBe(200);
    const names = (await json<{ queues: { name: string }[] }>(res)).queues.map((q) => q.name).sort();
    expect(names).toEqual([
      'notify.email',
      'notify.events',
      'notify.fanout',
      'notify.in_app',
      'notify.push',
      'notify.schedules',
      'notify.sms',
      'notify.webhook',
      'notify.workflows',
    ]);
  });
});
