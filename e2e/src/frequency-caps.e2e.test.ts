// A frequency cap holds across worker processes: the count lives in Redis, not in any one replica.
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, type ApiService } from './processes.js';

let t: TestEnv;
let api: ApiService;

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
});
afterAll(async () => {
  await stopAll();
  await t?.close();
});

it('a cap of 3 a day lets exactly 3 of 10 through when two worker processes share the queue; the other 7 end frequency_capped', async () => {
  expect((await api.call('PUT', '/categories/digest', { frequency_cap: { count: 3, period: '1d' } })).status).toBe(200);
  // A slow provider and two jobs at a time per process: both processes are taking jobs while the cap fills.
  const workerEnv = { EMAIL_PROVIDERS: 'simulated', SIMULATED_LATENCY_MS: '300', EMAIL_CONCURRENCY: '2' };
  const workers = await Promise.all([startWorker(t, ['email'], workerEnv), startWorker(t, ['email'], workerEnv)]);
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'capped', email: 'capped@example.com' } });

  const sends = await Promise.all(
    Array.from({ length: 10 }, (_, i) => api.call('POST', '/notifications', { user_id: 'capped', message: `digest ${i}`, channels: ['email'], category: 'digest' })),
  );
  const ids = await Promise.all(sends.map(async (r) => ((await r.json()) as Notification).id));
  const finished = await waitFor(
    async () => {
      const all = await Promise.all(ids.map(async (id) => ((await (await api.call('GET', `/notifications/${id}`)).json()) as Notification).deliveries[0]!));
      return all.every((d) => d.status === 'delivered' || d.status === 'skipped') ? all : undefined;
    },
    30_000,
    'all ten finished',
  );

  expect(finished.filter((d) => d.status === 'delivered')).toHaveLength(3);
  expect(finished.filter((d) => d.status === 'skipped').map((d) => d.reason)).toEqual(Array(7).fill('frequency_capped'));
  // Both processes decided some of them: each counts the jobs it ended in its own /metrics.
  const ended = await Promise.all(workers.map((w) => jobsEnded(w.url)));
  expect(ended.every((n) => n > 0)).toBe(true);
  expect(ended.reduce((a, b) => a + b, 0)).toBe(10);
});

/** Email jobs one worker process ended (delivered or skipped), from its /metrics. */
async function jobsEnded(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^notify_worker_jobs_total\{channel="email",outcome="(delivered|skipped)"\} (\d+)$/gm)) n += Number(m[2]);
  return n;
}
