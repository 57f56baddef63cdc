import type { Overview } from '@notify/core/observability';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization, startApi, startWorker, type ApiService, type Service } from './processes.js';

/**
 * The dashboard's "sent" is the accepted count. A topic notification is
 * accepted by the API as one batch and turned into one notification per
 * subscriber by a worker's fan-out; each of those is accepted too and must be
 * counted, by the built worker process as production runs it.
 */
let t: TestEnv;
let api: ApiService;
let worker: Service;

beforeAll(async () => {
  t = await createTestEnv();
  const env = { IN_APP_PROVIDERS: 'console' };
  api = await startApi(t, env);
  worker = await startWorker(t, ['in_app'], env);
});
afterAll(async () => {
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM')]);
  await t?.close();
});

async function accepted(): Promise<Overview['channels']['in_app']> {
  const res = await fetch(`${api.url}/dashboard/api/overview?app=${t.appId}&window=1h`, { headers: { authorization: adminAuthorization } });
  expect(res.status).toBe(200);
  return ((await res.json()) as Overview).channels.in_app;
}

describe('topic fan-out on the dashboard', () => {
  it('a topic notification to N subscribers raises accepted ("sent") by N', async () => {
    const N = 7;
    const subscribers = Array.from({ length: N }, (_, i) => `fan-${i}`);
    expect((await api.call('POST', '/topics/release/subscribers', { user_ids: subscribers })).status).toBe(200);
    // One notification to a single user first: the count already works for that path.
    expect((await api.call('POST', '/notifications', { user_id: 'solo', message: 'one', channels: ['in_app'] })).status).toBe(202);
    await expect.poll(async () => (await accepted()).accepted, { timeout: 10_000 }).toBe(1);

    const res = await api.call('POST', '/notifications', { topic: 'release', message: 'Release 2.0', channels: ['in_app'] });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as { id: string };
    await expect.poll(async () => ((await (await api.call('GET', `/batches/${batch.id}`)).json()) as { notifications: number }).notifications, { timeout: 20_000 }).toBe(N);
    await expect.poll(async () => (await accepted()).accepted, { timeout: 10_000 }).toBe(1 + N);
    await expect.poll(async () => (await accepted()).delivered, { timeout: 20_000 }).toBe(1 + N);
    // Counted once: a few more flushes change nothing.
    await sleep(2500);
    expect(await accepted()).toMatchObject({ accepted: 1 + N, delivered: 1 + N });
  }, 60_000);
});
