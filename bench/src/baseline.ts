import { createBenchEnv, type BenchEnv } from './bench-env.js';
import { baselineTree, currentTree, migrateWith, type CodeTree } from './baseline-tree.js';
import { backendsOf, cpuSeconds, cpuSnapshot } from './cpu.js';
import { deliveryStats, waitUntilFinished, type DeliveryStats } from './delivery-stats.js';
import { warmUp } from './e2e-rate.js';
import { fixedRateLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { BENCH_CHANNEL, startDeployment, type Deployment } from './service-processes.js';
import { round } from './stats.js';

/** One code tree running on a schema, key prefix and pair of processes of its own. */
interface Side {
  name: 'HEAD' | 'baseline';
  tree: CodeTree;
  env: BenchEnv;
  d: Deployment;
}

/** CPU per notification, µs, from the start of the load until its last delivery. */
export interface CpuPerNotification {
  api: number;
  worker: number;
  /** The PostgreSQL backends serving the API's and the worker's connections. */
  pg: number;
  /** Redis is shared by both deployments (and anyone else on the machine): shown, not in the total. */
  redis: number;
  /** API + worker + PostgreSQL. */
  total: number;
}

export interface CodeStep {
  code: Side['name'];
  pair: number;
  cpu: CpuPerNotification;
  /** Load at the fixed rate, and what became of it. */
  load: LoadResult;
  notifications: number;
  unfinished: number;
  failed: number;
  /** Offered more than the machine takes: notifications delivered per second, first accept to last delivery. */
  throughput: number | null;
  throughputAccepted: number;
}

export interface BaselineResult {
  head: CodeTree;
  baseline: CodeTree;
  rate: number;
  seconds: number;
  overloadRate: number;
  steps: CodeStep[];
  failures: string[];
}

const BODY = JSON.stringify({ user_id: 'u-[<id>]', message: 'Benchmark notification', channels: [BENCH_CHANNEL], priority: 'normal' });

/**
 * The hot path's cost at this checkout against a baseline commit, in one run:
 * both codes built and started side by side, each on a fresh schema of its own
 * (migrated by its own code) and its own queue prefix, warmed alike, then
 * measured in pairs whose order alternates (HEAD first, then the baseline
 * first), so a machine that slows down or speeds up during the run weighs on
 * both. Each measurement is a fixed rate below the machine's limit, its CPU
 * counted per notification, then a short overload for the delivered rate.
 * `register` hands the cleanup to the caller's signal handler.
 */
export async function measureBaseline(o: BenchOptions, rev: string, register: (cleanup: () => Promise<void>) => void): Promise<BaselineResult> {
  const [head, baseline] = [await currentTree(), await baselineTree(rev)];
  const sides: Side[] = [];
  const envs: BenchEnv[] = [];
  const cleanup = async () => {
    for (const s of sides) await s.d.stop().catch((err: unknown) => progress(`stopping the ${s.name} service failed: ${String(err)}`));
    for (const e of envs) await e.close().catch((err: unknown) => progress(`cleanup of ${e.schema} failed: ${String(err)}`));
    sides.length = 0;
    envs.length = 0;
  };
  register(cleanup);
  try {
    for (const [name, tree] of [
      ['HEAD', head],
      ['baseline', baseline],
    ] as const) {
      const env = await createBenchEnv(name === 'HEAD' ? undefined : migrateWith(tree));
      envs.push(env);
      progress(`${name} ${tree.commit.slice(0, 12)}: schema ${env.schema}, starting its API and worker`);
      const d = await startDeployment(env, o.serviceEnv, undefined, tree.root);
      sides.push({ name, tree, env, d });
    }
    for (const s of sides) await warmUp(s.env, s.d, o);
    const result: BaselineResult = { head, baseline, rate: o.baselineRate, seconds: o.stepSeconds, overloadRate: o.overloadRate, steps: [], failures: [] };
    for (let pair = 1; pair <= o.baselinePairs; pair++) {
      const order = pair % 2 === 1 ? sides : [...sides].reverse();
      for (const s of order) {
        try {
          result.steps.push(await measureSide(s, pair, o));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          result.failures.push(`${s.name} pair ${pair}: ${message.split('\n')[0]}`);
          progress(`baseline section: ${s.name} pair ${pair} failed: ${message}`);
        }
      }
    }
    return result;
  } finally {
    await cleanup();
  }
}

async function measureSide(s: Side, pair: number, o: BenchOptions): Promise<CodeStep> {
  s.d.assertAlive();
  const app = await s.env.newApp(`baseline-${s.name}-${pair}`);
  const before = cpuSnapshot();
  const { load, stats } = await loadUntilDelivered(s, app, o.baselineRate, o.stepSeconds);
  const after = cpuSnapshot();
  const used = cpuSeconds(before, after, { api: s.d.api.pid, worker: s.d.worker.pid }, await backendsOf(s.env.db.pool, [s.d.api.pid, s.d.worker.pid]));
  const per = (seconds: number) => (stats.notifications ? (seconds / stats.notifications) * 1e6 : NaN);
  const cpu = { api: per(used.api), worker: per(used.worker), pg: per(used.pg), redis: per(used.redis), total: per(used.api + used.worker + used.pg) };

  const over = await loadUntilDelivered(s, await s.env.newApp(`baseline-${s.name}-${pair}-overload`), o.overloadRate, o.overloadSeconds);
  const { firstCreatedMs: first, lastDeliveredMs: last } = over.stats;
  const throughput = first !== null && last !== null && last > first ? over.stats.delivered / ((last - first) / 1000) : null;
  progress(
    `baseline pair ${pair} ${s.name}: ${o.baselineRate}/s achieved ${round(load.achievedRate, 0)}/s (${load.non2xx} non-2xx, ${load.errors} errors), ` +
      `CPU per notification api ${round(cpu.api, 0)} worker ${round(cpu.worker, 0)} pg ${round(cpu.pg, 0)} redis ${round(cpu.redis, 0)} total ${round(cpu.total, 0)} µs; ` +
      `offered ${o.overloadRate}/s: accepted ${round(over.load.achievedRate, 0)}/s, delivered ${throughput === null ? '-' : round(throughput, 0)}/s`,
  );
  return {
    code: s.name,
    pair,
    cpu,
    load,
    notifications: stats.notifications,
    unfinished: stats.unfinished,
    failed: stats.failed,
    throughput,
    throughputAccepted: over.load.achievedRate,
  };
}

/** The load on the app, then the wait until every delivery finished (once more for requests cut off by the end of the load, which commit just after). */
async function loadUntilDelivered(s: Side, app: { appId: string; key: string }, rate: number, seconds: number): Promise<{ load: LoadResult; stats: DeliveryStats }> {
  const load = await fixedRateLoad({ url: `${s.d.url}/notifications`, key: app.key, body: BODY, rate, seconds });
  const alive = () => s.d.assertAlive();
  await waitUntilFinished(s.env, app.appId, 300_000, alive);
  let stats = await deliveryStats(s.env, app.appId);
  if (stats.unfinished > 0) {
    await waitUntilFinished(s.env, app.appId, 300_000, alive);
    stats = await deliveryStats(s.env, app.appId);
  }
  return { load, stats };
}
