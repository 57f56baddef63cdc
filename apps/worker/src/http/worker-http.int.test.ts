import { createSimulatedProvider, ProviderChain } from '@notify/core/channels';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerHttpApp } from './worker-http.js';
import { WorkerMetrics } from './worker-metrics.js';
import { WorkerReadiness } from './worker-readiness.js';

/** The worker's endpoints in process, on real PostgreSQL and Redis; e2e/src/worker-http.e2e.test.ts runs them in the built process. */
let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

function setup() {
  const chain = new ProviderChain('sms', [createSimulatedProvider({ failureRate: 1, failFirst: 0, latencyMs: 0, permanent: false })], { failureThreshold: 2, cooldownMs: 60_000 });
  const metrics = new WorkerMetrics([chain], { pool: t.db.pool, redis: t.redis });
  const readiness = new WorkerReadiness({ pool: t.db.pool, redis: t.redis });
  const app = workerHttpApp({ readiness: () => readiness.failures(), metrics: metrics.registry, log: t.log });
  return { chain, metrics, readiness, app };
}

const ready = async (app: ReturnType<typeof setup>['app']) => {
  const res = await app.request('/ready');
  return { status: res.status, body: (await res.json()) as { error?: { code: string; details: { path: string; message: string }[]; request_id: string } } };
};

describe('worker /ready', () => {
  it('is 503 while starting, 200 once its workers run, 503 naming a worker that stopped, and 503 from the moment it drains', async () => {
    const { app, readiness } = setup();
    const starting = await ready(app);
    expect(starting.status).toBe(503);
    expect(starting.body.error).toMatchObject({ code: 'unavailable', details: [{ path: 'workers', message: 'starting' }] });
    expect(starting.body.error?.request_id).toMatch(/\S/);

    let running = true;
    readiness.watch([
      { name: 'notify.sms', isRunning: () => running },
      { name: 'notify.events', isRunning: () => true },
    ]);
    expect(await (await app.request('/ready')).json()).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', workers: 'ok' } });

    running = false;
    expect((await ready(app)).body.error?.details).toEqual([{ path: 'workers', message: 'not running: notify.sms' }]);

    running = true;
    readiness.drain();
    const draining = await ready(app);
    expect(draining.status).toBe(503);
    expect(draining.body.error?.details).toEqual([{ path: 'shutdown', message: 'shutting down: finishing in-flight jobs' }]);
    expect((await app.request('/health')).status).toBe(200);
  });

  it('answers unknown paths with the one error shape', async () => {
    const res = await setup().app.request('/admin/queues');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('worker /metrics', () => {
  it('counts jobs and provider calls, and shows a breaker opening', async () => {
    const { app, metrics, chain } = setup();
    const scrape = async () => {
      const res = await app.request('/metrics');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    const before = await scrape();
    expect(before).toMatch(/^notify_worker_process_cpu_user_seconds_total \d/m);
    expect(before).toContain('notify_worker_jobs_total{channel="sms",outcome="retried"} 0');
    expect(before).toContain('notify_worker_provider_breaker_open{channel="sms",provider="simulated"} 0');
    expect(before).toContain('notify_worker_jobs_stalled_total{channel="sms"} 0');
    expect(before).toContain('notify_worker_dependency_up{dependency="postgres"} 1');
    expect(before).toContain('notify_worker_dependency_up{dependency="redis"} 1');

    const log = t.log;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const started = performance.now();
      const o = await chain.send({ channel: 'sms', message: { to: '+15555550100', body: 'hi' } }, { deliveryId: 'd', notificationId: 'n', attempt, log });
      expect(o.ok).toBe(false);
      metrics.providerCall('sms', o.provider, 'retryable_error', (performance.now() - started) / 1000);
      metrics.job('sms', 'retried');
    }
    metrics.stalled('sms');
    const after = await scrape();
    expect(after).toContain('notify_worker_jobs_total{channel="sms",outcome="retried"} 2');
    expect(after).toContain('notify_worker_provider_seconds_count{channel="sms",provider="simulated",outcome="retryable_error"} 2');
    expect(after).toContain('notify_worker_provider_breaker_open{channel="sms",provider="simulated"} 1');
    expect(after).toContain('notify_worker_jobs_stalled_total{channel="sms"} 1');
  });

  it('shows PostgreSQL down as notify_worker_dependency_up 0 while Redis stays 1', async () => {
    const down = { query: () => Promise.reject(new Error('connection refused')) };
    const metrics = new WorkerMetrics([], { pool: down, redis: t.redis });
    const text = await metrics.registry.metrics();
    expect(text).toContain('notify_worker_dependency_up{dependency="postgres"} 0');
    expect(text).toContain('notify_worker_dependency_up{dependency="redis"} 1');
  });
});
