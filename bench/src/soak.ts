import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './bench-env.js';
import { backendsOf, formatCpu, rssBytes, withCpu, type CpuUsage } from './cpu.js';
import { formatStatements, formatWaits, samplePgWaits, type PgStatements, type PgWaits } from './pg-waits.js';
import { deliveryStats, waitUntilFinished, type DeliveryStats } from './delivery-stats.js';
import { fixedRateLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { repeat, type Repeated, type ServiceHandle } from './repetitions.js';
import { BENCH_CHANNEL, logsBetween, type Deployment, type LogSummary } from './service-processes.js';
import { round } from './stats.js';

export interface MemorySample {
  atSeconds: number;
  apiRss: number | null;
  workerRss: number | null;
  redisUsedMemory: number;
}

export interface SizesAt {
  memory: MemorySample;
  /** pg_total_relation_size (indexes and TOAST included) of each table in the bench schema, bytes. */
  tables: Record<string, number>;
  /** Keys under the bench's queue prefix. */
  queueKeys: number;
}

export interface SoakResult {
  rate: number;
  /** Where the rate came from. */
  rateSource: string;
  warmupSeconds: number;
  seconds: number;
  load: LoadResult;
  delivery: DeliveryStats;
  drainMs: number | null;
  /** After the warm-up, and when the load stops. */
  start: SizesAt;
  end: SizesAt;
  /** Every sample after the warm-up, one each `sampleSeconds`: growth compares the first and last windows. */
  samples: MemorySample[];
  sampleSeconds: number;
  cpu: CpuUsage;
  pgWaits: PgWaits;
  pgStatements: PgStatements;
  logs: { api: LogSummary; worker: LogSummary };
}

/**
 * A long run at a moderate rate (half the sustained one) to see whether
 * anything grows that should not: process RSS (from /proc/<pid>/status),
 * Redis used_memory, and, for the record, PostgreSQL table sizes (those grow
 * by design: PostgreSQL keeps every notification). Sizes are taken after a
 * warm-up (heaps and pools reach their working size first) and at the end.
 */
export async function measureSoak(b: BenchEnv, service: ServiceHandle, o: BenchOptions, rate: number, rateSource: string): Promise<Repeated<SoakResult>> {
  // One run: five minutes is its own repetition, and three would not fit the run's time budget.
  return repeat('soak', 1, service, (_rep, d) => soakOnce(b, d, o, rate, rateSource));
}

async function soakOnce(b: BenchEnv, d: Deployment, o: BenchOptions, rate: number, rateSource: string): Promise<SoakResult> {
  d.assertAlive();
  const { appId, key } = await b.newApp('soak');
  const total = o.soakWarmupSeconds + o.soakSeconds;
  const every = o.quick ? 2 : 5;
  progress(`soak: ${rate}/s (${rateSource}) for ${o.soakWarmupSeconds} s warm-up + ${o.soakSeconds} s`);
  const logsBefore = { api: d.api.logs(), worker: d.worker.logs() };
  const samples: MemorySample[] = [];
  let start: SizesAt | null = null;
  let running = true;
  const t0 = performance.now();
  const sampler = (async () => {
    while (running) {
      await sleep(every * 1000);
      if (!running) break;
      const s = await memorySample(b, d, (performance.now() - t0) / 1000);
      if (s.atSeconds < o.soakWarmupSeconds) continue;
      samples.push(s);
      if (!start) {
        start = await sizesAt(b, s);
        progress(`soak start: ${describeSizes(start)}`);
      }
    }
  })();
  const waits = samplePgWaits(b.db.pool, () => backendsOf(b.db.pool, [d.api.pid, d.worker.pid]));
  const { result: load, cpu } = await withCpu(b.db.pool, { api: d.api.pid, worker: d.worker.pid }, () =>
    fixedRateLoad({
      url: `${d.url}/notifications`,
      key,
      body: JSON.stringify({ user_id: 'u-[<id>]', message: 'Benchmark soak notification', channels: [BENCH_CHANNEL] }),
      rate,
      seconds: total,
      watch: async () => {
        d.assertAlive();
        return null;
      },
    }),
  );
  running = false;
  await sampler;
  const { waits: pgWaits, statements: pgStatements } = await waits.stop();
  const last = await memorySample(b, d, (performance.now() - t0) / 1000);
  samples.push(last);
  const end = await sizesAt(b, last);
  start ??= end;
  progress(`soak end: ${describeSizes(end)}`);
  const drainMs = await waitUntilFinished(b, appId, 300_000, () => d.assertAlive());
  const delivery = await deliveryStats(b, appId);
  const logs = { api: logsBetween(logsBefore.api, d.api.logs()), worker: logsBetween(logsBefore.worker, d.worker.logs()) };
  progress(
    `soak: achieved ${round(load.achievedRate, 0)}/s, ${load.non2xx} non-2xx, ${load.errors} errors, api p99 ${round(load.latencyMs?.p99 ?? NaN)} ms, ` +
      `accept-to-delivered p99 ${round(delivery.p99Ms ?? NaN, 0)} ms | ${formatCpu(cpu)} | ${formatWaits(pgWaits)} | ${formatStatements(pgStatements)}`,
  );
  return {
    rate,
    rateSource,
    warmupSeconds: o.soakWarmupSeconds,
    seconds: o.soakSeconds,
    load,
    delivery,
    drainMs,
    start,
    end,
    samples,
    sampleSeconds: every,
    cpu,
    pgWaits,
    pgStatements,
    logs,
  };
}

async function memorySample(b: BenchEnv, d: Deployment, atSeconds: number): Promise<MemorySample> {
  const info = await b.redis.info('memory');
  return {
    atSeconds,
    apiRss: rssBytes(d.api.pid),
    workerRss: rssBytes(d.worker.pid),
    redisUsedMemory: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN),
  };
}

async function sizesAt(b: BenchEnv, memory: MemorySample): Promise<SizesAt> {
  const { rows } = await b.db.pool.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 2 DESC`,
    [b.schema],
  );
  let queueKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await b.redis.scan(cursor, 'MATCH', `${b.prefix}:*`, 'COUNT', 5000);
    cursor = next;
    queueKeys += keys.length;
  } while (cursor !== '0');
  return { memory, tables: Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)])), queueKeys };
}

const mb = (bytes: number | null) => (bytes === null ? '-' : `${round(bytes / 2 ** 20)} MB`);

function describeSizes(s: SizesAt): string {
  const t = s.tables;
  return (
    `RSS api ${mb(s.memory.apiRss)} worker ${mb(s.memory.workerRss)}, Redis used_memory ${mb(s.memory.redisUsedMemory)} (${s.queueKeys} keys of ours), ` +
    `PostgreSQL notifications ${mb(t.notifications ?? null)} deliveries ${mb(t.deliveries ?? null)} delivery_attempts ${mb(t.delivery_attempts ?? null)}`
  );
}
