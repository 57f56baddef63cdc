import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPort, TcpProxy, through } from './faults/tcp-proxy.js';
import { startApi, startWorker, type ApiService, type WorkerService } from './processes.js';

/**
 * A built worker's /health, /ready and /metrics on WORKER_HTTP_PORT. It
 * reaches PostgreSQL and Redis through proxies the test cuts, to see /ready
 * turn 503 and back while /health stays 200.
 */
let t: TestEnv;
let api: ApiService;
let pg: TcpProxy;
let redis: TcpProxy;
let worker: WorkerService;

beforeAll(async () => {
  t = await createTestEnv();
  pg = await new TcpProxy(...hostPort(t.env.DATABASE_URL)).start();
  redis = await new TcpProxy(...hostPort(t.env.REDIS_URL)).start();
  api = await startApi(t);
  worker = await startWorker(t, ['in_app'], {
    DATABASE_URL: through(t.env.DATABASE_URL, pg),
    REDIS_URL: through(t.env.REDIS_URL, redis),
    IN_APP_PROVIDERS: 'simulated',
    SIMULATED_LATENCY_MS: '50',
  });
});
afterAll(async () => {
  await Promise.all([worker?.stop('SIGKILL'), api?.stop('SIGKILL')]);
  await Promise.all([pg?.stop(), redis?.stop()]);
  await t?.close();
});

type ReadyError = { error: { code: string; details: { path: string; message: string }[] } };

async function get(w: WorkerService, path: string) {
  const res = await fetch(`${w.url}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** The value of one series in the worker's /metrics (which must have it). */
async function metric(w: WorkerService, series: string): Promise<number> {
  const { text } = await get(w, '/metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in /metrics:\n${text}`);
  return Number(line.slice(series.length + 1));
}

async function notify(userId: string): Promise<string> {
  const res = await api.call('POST', '/notifications', { user_id: userId, message: 'Hello', channels: ['in_app'] });
  expect(res.status).toBe(202);
  return ((await res.json()) as Notification).id;
}

/** Polls /ready until it answers `status`; the last body. */
const readyBecomes = (w: WorkerService, status: number) =>
  waitFor(
    async () => {
      const r = await get(w, '/ready').catch(() => null);
      return r?.status === status ? r : undefined;
    },
    20_000,
    `/ready ${status}`,
  );

describe('worker endpoints', () => {
  it('answers /health and /ready, and /metrics counts deliveries and provider time as they happen', async () => {
    expect(await get(worker, '/health')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    expect(JSON.parse((await get(worker, '/ready')).text)).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', workers: 'ok' } });
    const first = await get(worker, '/metrics');
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metric(worker, 'notify_worker_process_resident_memory_bytes')).toBeGreaterThan(0);
    const delivered = 'notify_worker_jobs_total{channel="in_app",outcome="delivered"}';
    const calls = 'notify_worker_provider_seconds_count{channel="in_app",provider="simulated",outcome="delivered"}';
    expect(first.text).toContain(`${delivered} 0`);
    expect(first.text).toContain('notify_worker_provider_breaker_open{channel="in_app",provider="simulated"} 0');

    for (let i = 0; i < 5; i++) await notify(`metrics-${i}`);
    await waitFor(async () => ((await metric(worker, delivered)) === 5 ? true : undefined), 20_000, '5 deliveries counted');
    expect(await metric(worker, calls)).toBe(5);
    // Each call waited the simulated 50 ms.
    expect(await metric(worker, 'notify_worker_provider_seconds_sum{channel="in_app",provider="simulated",outcome="delivered"}')).toBeGreaterThanOrEqual(0.25);
    expect(await metric(worker, 'notify_worker_provider_seconds_bucket{le="0.025",channel="in_app",provider="simulated",outcome="delivered"}')).toBe(0);
  });

  it.each([
    ['Redis', 'redis', () => redis],
    ['PostgreSQL', 'postgres', () => pg],
  ])('/ready is 503 naming %s while it is unreachable, /health stays 200, and it is ready again once back', async (_name, path, proxy) => {
    await proxy().cut();
    try {
      const down = await readyBecomes(worker, 503);
      const body = JSON.parse(down.text) as ReadyError;
      expect(body.error.code).toBe('unavailable');
      expect(body.error.details.map((d) => d.path)).toContain(path);
      expect((await get(worker, '/health')).status).toBe(200);
    } finally {
      await proxy().restore();
    }
    await readyBecomes(worker, 200);
  });

  it('a WORKER_HTTP_PORT already taken stops the start, naming it', async () => {
    const port = new URL(worker.url).port;
    await expect(startWorker(t, ['in_app'], { WORKER_HTTP_PORT: port })).rejects.toThrow(new RegExp(`WORKER_HTTP_PORT ${port} on 127\\.0\\.0\\.1 is taken`));
  });

  it('on SIGTERM, /ready is 503 while the in-flight job finishes, then the process exits 0 with it delivered', async () => {
    await worker.stop('SIGTERM');
    const slow = await startWorker(t, ['in_app'], { IN_APP_PROVIDERS: 'simulated', SIMULATED_LATENCY_MS: '4000' });
    const id = await notify('draining');
    await waitFor(async () => {
      const { rows } = await t.db.pool.query<{ status: string }>('SELECT status FROM deliveries WHERE notification_id = $1', [id]);
      return rows[0]?.status === 'sending' ? true : undefined;
    });
    const exited = slow.stop('SIGTERM');
    const draining = JSON.parse((await readyBecomes(slow, 503)).text) as ReadyError;
    expect(draining.error.details).toEqual([{ path: 'shutdown', message: 'shutting down: finishing in-flight jobs' }]);
    expect((await get(slow, '/health')).status).toBe(200);
    expect(await exited).toBe(0);
    const { rows } = await t.db.pool.query<{ status: string }>('SELECT status FROM deliveries WHERE notification_id = $1', [id]);
    expect(rows[0]?.status).toBe('delivered');
  });
});
