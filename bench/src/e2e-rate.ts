import { formatServerLatency, scrapeApiMetrics, serverLatency, type ApiServerLatency } from './api-metrics.js';
import type { BenchEnv } from './bench-env.js';
import { backendsOf, formatCpu, outsideCpu, withCpu, type CpuUsage } from './cpu.js';
import { deliveryStats, unfinishedDeliveries, waitUntilFinished, type DeliveryStats } from './delivery-stats.js';
import { fixedRateLoad, type LoadResult } from './load.js';
import { formatActivity, pgActivity, pgCounters, type PgActivity } from './pg-activity.js';
import { formatStatements, formatWaits, samplePgWaits, type PgStatements, type PgWaits } from './pg-waits.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { repeat, type Repeated, type ServiceHandle } from './repetitions.js';
import { BENCH_CHANNEL, logsBetween, type Deployment, type LogSummary } from './service-processes.js';
import { round, summarize } from './stats.js';

/** "Sustained" (the issue's definition), as numbers. */
export const SUSTAINED = {
  /** The achieved rate may fall this far short of the target. */
  minAchievedShare: 0.97,
  /** Every delivery of the step finished within this long after the load stopped. */
  maxDrainMs: 2000,
  /** Accept-to-delivered p99 under this. */
  maxP99Ms: 1000,
};

/** One fixed-rate run of POST /notifications and what became of it. */
export interface StepResult {
  rate: number;
  seconds: number;
  load: LoadResult;
  /** The API's own latency histogram and event-loop delay over the load (GET /metrics). */
  apiServer: ApiServerLatency | null;
  /** Time from the end of the load until every delivery had finished; null if not within 120 s. */
  drainMs: number | null;
  delivery: DeliveryStats;
  cpu: CpuUsage;
  /** Average number of the service's PostgreSQL sessions in each state during the load. */
  pgWaits: PgWaits;
  /** The same by statement (first 70 characters). */
  pgStatements: PgStatements;
  /** PostgreSQL work per accepted notification (rows, commits, WAL), load and drain included. */
  pgActivity: PgActivity;
  logs: { api: LogSummary; worker: LogSummary };
  pass: boolean;
  /** Why it did not pass; empty when it did. */
  reasons: string[];
}

/** The ramp's outcome: the highest rate that passed and every step it ran. */
export interface Ramp {
  /** Highest passing rate, or null when none passed. */
  sustained: number | null;
  steps: StepResult[];
  /** The step at the sustained rate (for its latencies). */
  atSustained: StepResult | null;
}

export interface E2eRep extends Ramp {
  /** Steps at a third and at half of the sustained rate: the API's latency when it is not saturated. */
  atThird: StepResult | null;
  atHalf: StepResult | null;
}

export type E2eResult = Repeated<E2eRep>;

const BODY = JSON.stringify({ user_id: 'u-[<id>]', message: 'Benchmark notification', channels: [BENCH_CHANNEL], priority: 'normal' });

/** Finds the highest rate the service sustains in each repetition (findSustained), then measures the API's latency at a third and at half of it. */
export async function measureE2e(b: BenchEnv, service: ServiceHandle, o: BenchOptions): Promise<E2eResult> {
  let warmed: Deployment | null = null;
  const done: E2eRep[] = [];
  return repeat('e2e', o.reps, service, async (rep, d) => {
    // A fresh deployment (the first, or one restarted after a process died) is warmed first.
    if (warmed !== d) {
      await warmUp(b, d, o);
      warmed = d;
    }
    const ramp = await findSustained(b, d, o, done, `e2e-r${rep}`);
    const below = async (share: number, name: string) => (ramp.sustained === null ? null : runStep(b, d, roundRate(ramp.sustained * share), o.stepSeconds, `e2e-r${rep}-${name}`));
    const atThird = await below(1 / 3, 'third');
    const atHalf = await below(1 / 2, 'half');
    progress(`e2e rep ${rep}: sustained ${ramp.sustained ?? 'none'} notifications/s`);
    const result: E2eRep = { ...ramp, atThird, atHalf };
    done.push(result);
    return result;
  });
}

/**
 * Runs POST /notifications at fixed rates and finds the highest one the
 * service sustains. The first ramp (no `earlier` ones) rises from startRate
 * by rateStep until a rate fails; later ones start at the median of the
 * earlier and move by half a step. Each then bisects between the highest
 * pass and the lowest fail down to a quarter of a step (250/s with the
 * default 1,000/s step; a quarter of the rate below 2 steps). `redis`: the
 * Redis servers whose CPU counts as the service's.
 */
export async function findSustained(b: BenchEnv, d: Deployment, o: BenchOptions, earlier: Ramp[], label: string, redis?: ReadonlySet<number>): Promise<Ramp> {
  const hint = summarize(earlier.flatMap((r) => (r.sustained === null ? [] : [r.sustained])))?.median;
  const steps = new Map<number, StepResult>();
  const test = async (rate: number): Promise<boolean> => {
    const known = steps.get(rate);
    if (known) return known.pass;
    const step = await runStep(b, d, rate, o.stepSeconds, `${label}-${rate}`, redis);
    steps.set(rate, step);
    return step.pass;
  };
  if (hint === undefined) {
    let rate = o.startRate;
    while (rate <= o.maxRate && (await test(rate))) rate += o.rateStep;
  } else {
    const half = o.rateStep / 2;
    let rate = roundRate(hint);
    if (await test(rate)) {
      do rate += half;
      while (rate <= o.maxRate && (await test(rate)));
    } else {
      do rate -= half;
      while (rate >= half && !(await test(rate)));
    }
  }
  // Nothing passed: halve until something does (a service far below the ramp's first rate).
  while (![...steps.values()].some((s) => s.pass)) {
    const lowest = Math.min(...steps.keys());
    if (lowest / 2 < 50) break;
    await test(roundRate(lowest / 2));
  }
  for (;;) {
    const passes = [...steps.values()].filter((s) => s.pass).map((s) => s.rate);
    const best = passes.length ? Math.max(...passes) : null;
    const fails = [...steps.values()].filter((s) => !s.pass && (best === null || s.rate > best)).map((s) => s.rate);
    const fail = fails.length ? Math.min(...fails) : null;
    if (best === null || fail === null) break;
    const precision = fail >= 2 * o.rateStep ? o.rateStep / 4 : fail / 4;
    if (fail - best <= precision) break;
    const mid = roundRate((best + fail) / 2);
    if (mid <= best || mid >= fail) break;
    await test(mid);
  }
  const passes = [...steps.values()].filter((s) => s.pass);
  const sustained = passes.length ? Math.max(...passes.map((s) => s.rate)) : null;
  return { sustained, steps: [...steps.values()], atSustained: passes.find((s) => s.rate === sustained) ?? null };
}

/** Rates are kept to multiples of 50 so that repetitions meet on the same values. */
export const roundRate = (r: number) => Math.max(50, Math.round(r / 50) * 50);

/** JIT, connection pools and caches warm before anything is measured. */
export async function warmUp(b: BenchEnv, d: Deployment, o: BenchOptions): Promise<void> {
  const seconds = o.quick ? 3 : 10;
  progress(`e2e warm-up: ${seconds} s at 500/s`);
  const { appId, key } = await b.newApp('warmup');
  await fixedRateLoad({ url: `${d.url}/notifications`, key, body: BODY, rate: 500, seconds });
  await waitUntilFinished(b, appId, 120_000, () => d.assertAlive());
}

/**
 * One rate for `seconds`, on its own app (so its notifications are found by
 * app_id), then wait for the deliveries and judge it. A step that is
 * clearly failing stops early: requests refused, the client far behind
 * the target, or more than three seconds' worth of deliveries waiting (then
 * well over 1 % of them wait over a second, so the p99 cannot pass).
 */
export async function runStep(b: BenchEnv, d: Deployment, rate: number, seconds: number, label: string, redis?: ReadonlySet<number>): Promise<StepResult> {
  d.assertAlive();
  const { appId, key } = await b.newApp(label);
  const logsBefore = { api: d.api.logs(), worker: d.worker.logs() };
  const countersBefore = await pgCounters(b.db.pool, b.schema);
  const metricsBefore = await scrapeApiMetrics(d);
  const waits = samplePgWaits(b.db.pool, () => backendsOf(b.db.pool, [d.api.pid, d.worker.pid]));
  const { result: load, cpu } = await withCpu(b.db.pool, { api: d.api.pid, worker: d.worker.pid, redis }, () =>
    fixedRateLoad({
      url: `${d.url}/notifications`,
      key,
      body: BODY,
      rate,
      seconds,
      watch: async (p) => {
        d.assertAlive();
        if (p.notOk > 0 || p.errors > 0) return `${p.notOk} non-2xx and ${p.errors} errors after ${round(p.elapsedSeconds)} s`;
        if (p.elapsedSeconds < 5) return null;
        if (p.ok < 0.8 * rate * (p.elapsedSeconds - 1)) return `only ${round(p.ok / p.elapsedSeconds, 0)}/s accepted after ${round(p.elapsedSeconds)} s`;
        const waiting = await unfinishedDeliveries(b, appId);
        if (waiting > 3 * rate) return `${waiting} deliveries waiting after ${round(p.elapsedSeconds)} s`;
        return null;
      },
    }),
  );
  const { waits: pgWaits, statements: pgStatements } = await waits.stop();
  const apiServer = serverLatency(metricsBefore, await scrapeApiMetrics(d));
  let drainMs = await waitUntilFinished(b, appId, 120_000, () => d.assertAlive());
  let delivery = await deliveryStats(b, appId);
  // Requests cut off when the load stopped may commit just after the first check.
  if (delivery.unfinished > 0) {
    const more = await waitUntilFinished(b, appId, 120_000, () => d.assertAlive());
    drainMs = drainMs === null || more === null ? null : drainMs + more;
    delivery = await deliveryStats(b, appId);
  }
  const activity = pgActivity(countersBefore, await pgCounters(b.db.pool, b.schema), delivery.notifications);
  const logs = { api: logsBetween(logsBefore.api, d.api.logs()), worker: logsBetween(logsBefore.worker, d.worker.logs()) };
  const reasons = judge(rate, load, drainMs, delivery);
  const step: StepResult = { rate, seconds, load, apiServer, drainMs, delivery, cpu, pgWaits, pgStatements, pgActivity: activity, logs, pass: reasons.length === 0, reasons };
  progress(describeStep(step));
  return step;
}

function judge(rate: number, load: LoadResult, drainMs: number | null, delivery: DeliveryStats): string[] {
  const reasons: string[] = [];
  if (load.aborted) reasons.push(`stopped early: ${load.aborted}`);
  if (load.non2xx > 0)
    reasons.push(
      `${load.non2xx} non-2xx (${Object.entries(load.statuses)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')})`,
    );
  if (load.errors > 0) reasons.push(`${load.errors} errors (${load.timeouts} timeouts)`);
  if (load.achievedRate < SUSTAINED.minAchievedShare * rate) reasons.push(`achieved ${round(load.achievedRate, 0)}/s`);
  if (drainMs === null) reasons.push('deliveries unfinished 120 s after the load');
  else if (drainMs > SUSTAINED.maxDrainMs) reasons.push(`drained ${round(drainMs / 1000)} s after the load`);
  if (delivery.p99Ms === null || delivery.p99Ms >= SUSTAINED.maxP99Ms) reasons.push(`accept-to-delivered p99 ${delivery.p99Ms === null ? '-' : round(delivery.p99Ms, 0)} ms`);
  if (delivery.failed > 0) reasons.push(`${delivery.failed} deliveries failed`);
  if (delivery.delivered < load.ok) reasons.push(`${load.ok - delivery.delivered} accepted but not delivered`);
  return reasons;
}

/** CPU per notification of a step, µs, over its load: each process, the service's PostgreSQL sessions and the Redis servers it used. */
export function cpuPerNotification(s: StepResult): { api: number; worker: number; pg: number; redis: number; load: number; service: number; total: number } {
  const per = (percent: number) => (s.load.achievedRate > 0 ? (percent / 100 / s.load.achievedRate) * 1e6 : Number.NaN);
  const { api, worker, pg, redis, load } = s.cpu;
  return {
    api: per(api),
    worker: per(worker),
    pg: per(pg),
    redis: per(redis),
    load: per(load),
    service: per(api + worker + pg + redis),
    total: per(api + worker + pg + redis + load),
  };
}

export function describeStep(s: StepResult): string {
  const lat = s.load.latencyMs;
  const out = outsideCpu(s.cpu);
  return (
    `${s.rate}/s for ${s.seconds} s: ${s.pass ? 'PASS' : 'FAIL'}` +
    ` | achieved ${round(s.load.achievedRate, 0)}/s, api p50 ${lat ? round(lat.p50) : '-'} p99 ${lat ? round(lat.p99) : '-'} ms (${formatServerLatency(s.apiServer)})` +
    `, accept-to-delivered p50 ${s.delivery.p50Ms === null ? '-' : round(s.delivery.p50Ms, 0)} p99 ${s.delivery.p99Ms === null ? '-' : round(s.delivery.p99Ms, 0)} ms` +
    `, drain ${s.drainMs === null ? '-' : round(s.drainMs / 1000)} s` +
    ` | ${formatCpu(s.cpu)} | ${formatWaits(s.pgWaits)} | ${formatActivity(s.pgActivity)} | ${formatStatements(s.pgStatements)}` +
    (s.logs.api.error + s.logs.worker.error > 0 ? ` | errors logged: api ${s.logs.api.error}, worker ${s.logs.worker.error}` : '') +
    (s.reasons.length ? ` | ${s.reasons.join('; ')}` : '') +
    (out > 30 ? ` | WARNING: ${out}% of a core used outside the benchmark` : '')
  );
}
