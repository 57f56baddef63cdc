import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS, alertRules, dashboardQueries, metricNames, withWindow } from './prometheus/deploy-files.js';
import { startPrometheus, type PrometheusServer } from './prometheus/prometheus-server.js';
import { ADMIN_PASSWORD, startApi, startWorker, type ApiService, type WorkerService } from './processes.js';

/**
 * Debian's Prometheus scraping the built API (admin Basic auth) and a worker
 * as README "Alerts and dashboards" configures it, with deploy/prometheus/alerts.yml
 * loaded: every metric the rules and deploy/grafana/notify.json read exists
 * with its labels, and every expression evaluates.
 */
let t: TestEnv;
let api: ApiService;
let worker: WorkerService;
let prometheus: PrometheusServer;

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
  worker = await startWorker(t, ['in_app']);
  prometheus = await startPrometheus({
    rules: [ALERTS],
    jobs: [
      { job: 'notify-api', target: new URL(api.url).host, basicAuth: { username: 'admin', password: ADMIN_PASSWORD } },
      { job: 'notify-worker', target: new URL(worker.url).host },
    ],
  });
}, 120_000);
afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([worker?.stop('SIGKILL'), api?.stop('SIGKILL')]);
  await t?.close();
});

/** Per metric the rules or the dashboard read: labels every series must have, with values some series must show ([] for any). */
const EXPECTED: Record<string, Record<string, string[]>> = {
  up: { job: ['notify-api', 'notify-worker'], instance: [] },
  http_requests_total: { job: ['notify-api'], method: ['POST'], route: ['/notifications'], status: ['202'] },
  http_request_duration_seconds_bucket: { job: ['notify-api'], method: [], route: ['/notifications'], status: [], le: ['+Inf'] },
  notify_queue_jobs: { queue: ['notify.in_app', 'notify.email'], state: ['waiting', 'prioritized', 'active', 'delayed', 'failed'] },
  notify_dead_letters: { channel: ['email', 'sms', 'push', 'in_app', 'webhook'] },
  notify_accept_to_delivered_seconds_bucket: { channel: ['in_app'], priority: [], le: ['+Inf'] },
  notify_worker_jobs_total: { job: ['notify-worker'], channel: ['in_app'], outcome: ['delivered', 'failed', 'retried', 'skipped'] },
  notify_worker_provider_seconds_count: { channel: ['in_app'], provider: [], outcome: ['delivered'] },
  notify_worker_provider_breaker_open: { channel: ['in_app'], provider: [] },
  notify_worker_jobs_stalled_total: { channel: ['in_app'] },
  notify_worker_dependency_up: { dependency: ['postgres', 'redis'] },
};

const rules = alertRules();
const panels = dashboardQueries();
const query = (expr: string) => prometheus.api<{ resultType: string; result: { metric: Record<string, string> }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);

describe('a real Prometheus scraping the API and a worker', () => {
  it('scrapes both, with the notifications sent delivered', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await api.call('POST', '/notifications', { user_id: `prometheus-${i}`, message: 'Hello', channels: ['in_app'] });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as Notification;
      await waitFor(
        async () => {
          const n = (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
          return n.deliveries.every((d) => d.status === 'delivered') || undefined;
        },
        30_000,
        `notification ${id} delivered`,
      );
    }
    const targets = await waitFor(
      async () => {
        const { activeTargets } = await prometheus.api<{ activeTargets: { labels: { job: string }; health: string; lastError: string }[] }>('/api/v1/targets');
        return activeTargets.length === 2 && activeTargets.every((a) => a.health === 'up') ? activeTargets : undefined;
      },
      30_000,
      `both targets up:\n${prometheus.output()}`,
    );
    expect(targets.map((a) => a.labels.job).sort()).toEqual(['notify-api', 'notify-worker']);
  });

  it('has every metric the alert rules and the dashboard read, with the expected labels', async () => {
    const used = new Set([...rules, ...panels].flatMap((q) => metricNames(q.expr)));
    expect([...used].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, labels] of Object.entries(EXPECTED)) {
      // A delivery's histogram reaches the API through Redis within a second or two: wait for each metric's values to show.
      const series = await waitFor(
        async () => {
          const found = await prometheus.api<Record<string, string>[]>(`/api/v1/series?match[]=${encodeURIComponent(name)}`);
          const complete = Object.entries(labels).every(([label, values]) => values.every((v) => found.some((s) => s[label] === v)));
          return complete ? found : undefined;
        },
        30_000,
        `${name} with ${JSON.stringify(labels)}`,
      );
      for (const s of series) for (const label of Object.keys(labels)) expect(s, `${name} ${JSON.stringify(s)}`).toHaveProperty(label);
    }
  });

  it('evaluates every dashboard expression into series', async () => {
    expect(panels.length).toBeGreaterThanOrEqual(12);
    const emptyPanels = async () =>
      (await Promise.all(panels.map(async (p) => ((await query(withWindow(p.expr, '30s'))).result.length === 0 ? `${p.panel}: ${p.expr}` : null)))).filter((p) => p !== null);
    // rate() needs two samples of a series in its window: a few scrapes after the first. The last look names what stayed empty.
    await waitFor(async () => ((await emptyPanels()).length === 0 ? true : undefined), 30_000, 'every panel with series').catch(() => undefined);
    expect(await emptyPanels()).toEqual([]);
  });

  it('loads and evaluates every alert rule without an error', async () => {
    for (const r of rules) await expect(query(r.expr), r.alert).resolves.toMatchObject({ resultType: 'vector' });
    const loaded = await waitFor(
      async () => {
        const { groups } = await prometheus.api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
        const all = groups.flatMap((g) => g.rules);
        return all.length === rules.length && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      30_000,
      'every rule evaluated',
    );
    expect(loaded.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError ?? '' }))).toEqual(rules.map((r) => ({ name: r.alert, health: 'ok', lastError: '' })));
  });
});
