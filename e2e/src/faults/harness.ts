import { QUEUE, queuePrefix } from '@notify/core/platform';
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, type LocalCluster, type TestEnv } from '@notify/core/testing';
import { QueueEvents } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApi, startWorker, type ApiService, type Service } from '../processes.js';
import { hostPort, TcpProxy, through } from './tcp-proxy.js';

/** One row of the fault table. */
export interface FaultRow {
  scenario: string;
  accepted: number;
  delivered: number;
  failed: number;
  lost: number;
  duplicates: number;
  stalled: number;
  recover_s: number | null;
}

/**
 * A production-shaped deployment for one scenario: the built API and worker
 * processes on their own schema and queue prefix, reaching PostgreSQL and
 * Redis through proxies the scenario can cut. On a Redis Cluster there is no
 * Redis proxy (nodes announce their own addresses to clients): its faults
 * are nodes killed.
 */
export class Deployment {
  api!: ApiService;
  readonly workers: Service[] = [];
  stalled = 0;
  private events!: QueueEvents;

  private constructor(
    readonly t: TestEnv,
    readonly pg: TcpProxy,
    private readonly redis: TcpProxy | undefined,
  ) {}

  static async start(apiEnv: Record<string, string> = {}, cluster?: LocalCluster): Promise<Deployment> {
    const t = await createTestEnv(cluster ? { REDIS_CLUSTER_NODES: cluster.nodes } : {});
    const pg = await new TcpProxy(...hostPort(t.env.DATABASE_URL)).start();
    const redis = cluster ? undefined : await new TcpProxy(...hostPort(t.env.REDIS_URL)).start();
    const d = new Deployment(t, pg, redis);
    d.api = await startApi(t, { ...d.baseEnv(), ...apiEnv });
    // Observed directly, not through the proxy, so the count survives outages.
    d.events = new QueueEvents(QUEUE.in_app, { connection: t.workerRedis, prefix: queuePrefix(t.env.QUEUE_PREFIX, QUEUE.in_app) });
    d.events.on('stalled', () => d.stalled++);
    // A cluster failover drops its connection for a moment; BullMQ reconnects on its own.
    d.events.on('error', () => {});
    await d.events.waitUntilReady();
    return d;
  }

  /** The proxy in front of single-node Redis. */
  get redisProxy(): TcpProxy {
    if (!this.redis) throw new Error('a Redis Cluster deployment has no Redis proxy');
    return this.redis;
  }

  baseEnv(): Record<string, string> {
    return {
      DATABASE_URL: through(this.t.env.DATABASE_URL, this.pg),
      ...(this.redis ? { REDIS_URL: through(this.t.env.REDIS_URL, this.redis) } : {}),
      RETRY_BASE_DELAY_MS: '200',
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_GRACE_MS: '3000',
      WORKER_LOCK_DURATION_MS: '5000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      IN_APP_PROVIDERS: 'simulated',
      // Scenario 7b fails every first try on purpose; with one provider a breaker would
      // only add waiting. Breakers have their own tests (channels.int.test.ts).
      BREAKER_FAILURE_THRESHOLD: '1000',
    };
  }

  async startWorkers(count: number, env: Record<string, string> = {}): Promise<Service[]> {
    const started = await Promise.all(Array.from({ length: count }, () => startWorker(this.t, ['in_app'], { ...this.baseEnv(), ...env })));
    this.workers.push(...started);
    return started;
  }

  async stopWorkers(signal: NodeJS.Signals): Promise<(number | null)[]> {
    const codes = await Promise.all(this.workers.map((w) => w.stop(signal)));
    this.workers.length = 0;
    return codes;
  }

  /** POST /notifications; the id when accepted (202), else the status. */
  async notify(userId: string, headers: Record<string, string> = {}, message = 'Hello'): Promise<{ status: number; id?: string }> {
    try {
      const res = await this.api.call('POST', '/notifications', { user_id: userId, message, channels: ['in_app'] }, headers);
      if (res.status !== 202) return { status: res.status };
      return { status: 202, id: ((await res.json()) as Notification).id };
    } catch {
      return { status: 0 };
    }
  }

  /** n notifications, `parallel` at a time; the accepted ids. */
  async notifyMany(n: number, parallel = 50): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += parallel) {
      const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => this.notify(`user-${i + j}`)));
      for (const r of batch) if (r.id) ids.push(r.id);
    }
    return ids;
  }

  async countDeliveries(status: string): Promise<number> {
    const { rows } = await this.t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deliveries WHERE status = $1', [status]);
    return rows[0]!.n;
  }

  /** Waits until every given notification is finished (or the timeout), and reports. */
  async settle(ids: string[], timeoutMs: number): Promise<{ delivered: number; failed: number; lost: number; duplicates: number; seconds: number }> {
    const started = performance.now();
    for (;;) {
      const s = await this.summary(ids);
      if (s.unfinished === 0 || performance.now() - started > timeoutMs) {
        return { delivered: s.delivered, failed: s.failed, lost: s.unfinished, duplicates: s.duplicates, seconds: (performance.now() - started) / 1000 };
      }
      await sleep(200);
    }
  }

  /**
   * Outcomes of the given notifications' deliveries. A duplicate is a provider
   * call beyond the first for a delivered delivery, not counting calls that
   * failed: calls started (`attempts`) whose outcome was success or unknown
   * (the worker died), minus one.
   */
  async summary(ids: string[]) {
    const { rows } = await this.t.db.pool.query<{ delivered: number; failed: number; unfinished: number; duplicates: number }>(
      `SELECT count(*) FILTER (WHERE d.status = 'delivered')::int AS delivered,
         count(*) FILTER (WHERE d.status = 'failed')::int AS failed,
         count(*) FILTER (WHERE d.status IN ('queued', 'sending', 'retrying'))::int AS unfinished,
         coalesce(sum(greatest(d.attempts - coalesce(f.failures, 0) - 1, 0)) FILTER (WHERE d.status = 'delivered'), 0)::int AS duplicates
       FROM deliveries d
       LEFT JOIN (SELECT delivery_id, count(*) AS failures FROM delivery_attempts WHERE outcome <> 'delivered' GROUP BY 1) f
         ON f.delivery_id = d.id
       WHERE d.notification_id = ANY($1::uuid[])`,
      [ids],
    );
    return rows[0]!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.stop('SIGKILL')), this.api.stop('SIGKILL')]);
    await this.events.close();
    await this.pg.stop();
    await this.redis?.stop();
    await this.t.close();
  }
}

/** Fires `perSecond` notifications a second for `seconds`, without waiting for answers to send the next. */
export async function load(d: Deployment, perSecond: number, seconds: number) {
  const results: Promise<{ status: number; id?: string; at: number }>[] = [];
  const interval = 1000 / perSecond;
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const at = performance.now();
    results.push(d.notify(`load-${i}`).then((r) => ({ ...r, at })));
    await sleep(interval);
  }
  const settled = await Promise.all(results);
  const byStatus = new Map<number, number>();
  for (const r of settled) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  return {
    ids: settled.flatMap((r) => (r.id ? [r.id] : [])),
    byStatus,
    /** Seconds from `since` until the first request sent after it was accepted. */
    recoveredAfter: (since: number) => {
      const first = settled.find((r) => r.at >= since && r.status === 202);
      return first ? (first.at - since) / 1000 : null;
    },
  };
}

/** Cuts a proxy after `afterMs` for `forMs`; resolves with the moment it was restored. */
export async function outage(proxy: { cut(): Promise<void>; restore(): Promise<void> }, afterMs: number, forMs: number): Promise<number> {
  await sleep(afterMs);
  await proxy.cut();
  await sleep(forMs);
  await proxy.restore();
  return performance.now();
}

export function formatTable(rows: FaultRow[]): string {
  const cols: (keyof FaultRow)[] = ['scenario', 'accepted', 'delivered', 'failed', 'lost', 'duplicates', 'stalled', 'recover_s'];
  const cell = (r: FaultRow, c: keyof FaultRow) => (c === 'recover_s' ? (r.recover_s === null ? '-' : r.recover_s.toFixed(1)) : String(r[c]));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  return [line(cols), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map((r) => line(cols.map((c) => cell(r, c))))].join(
    '\n',
  );
}
