import { CHANNELS, type Pool, type Redis } from '@notify/core/platform';
import { renderDeliveryMetrics } from '@notify/core/observability';
import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BoardQueues } from './bull-board.js';
import type { ApiEnv } from './context.js';

const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * The API's Prometheus metrics: HTTP requests by route and status, queue
 * depths and dead letters read at scrape time, and the workers' delivery metrics (summed in
 * Redis). One registry per app instance, so tests do not share counters.
 */
export function createMetrics(deps: BoardQueues & { pool: Pick<Pool, 'query'>; redis: Redis; prefix: string }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'notify_api_' });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests, by route and status.', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, by route and status.',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'notify_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const queue of [...Object.values(deps.queues), deps.fanout, deps.events, deps.workflows, deps.schedules]) {
        const counts = await queue.getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'notify_dead_letters',
    help: 'Deliveries failed for good (the dead letters, GET /v1/deliveries?status=failed), by channel; a replay takes them out.',
    labelNames: ['channel'],
    registers: [registry],
    async collect() {
      const { rows } = await deps.pool.query<{ channel: string; n: number }>("SELECT channel, count(*)::int AS n FROM deliveries WHERE status = 'failed' GROUP BY channel");
      const counts = new Map(rows.map((r) => [r.channel, r.n]));
      for (const channel of CHANNELS) this.set({ channel }, counts.get(channel) ?? 0);
    },
  });

  const middleware: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const started = performance.now();
    await next();
    // The route pattern, not the path: ids would make a series per request.
    const labels = { method: c.req.method, route: c.req.routePath, status: String(c.res.status) };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - started) / 1000);
  };

  const routes = new Hono<ApiEnv>().get('/', async (c) => {
    const [own, deliveries] = await Promise.all([registry.metrics(), renderDeliveryMetrics(deps.redis, deps.prefix)]);
    return c.text(`${own}\n${deliveries}`, 200, { 'content-type': registry.contentType });
  });

  return { middleware, routes };
}
