// `npm run bench`: the ceilings of BullMQ and PostgreSQL on this machine, then
// the service end to end (API + one worker process, built output), then its
// scale-out (more worker processes; Redis Cluster beside one Redis), in one
// table on stdout and as JSON under bench/results/. Progress goes to stderr.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { createBenchEnv, type BenchEnv } from './bench-env.js';
import { measureBaseline } from './baseline.js';
import { measureBulk } from './bulk.js';
import { measureCeilings } from './ceilings.js';
import { cpuSnapshot, cpuUsage, formatCpu, outsideCpu, type CpuUsage } from './cpu.js';
import { measureCluster } from './cluster.js';
import { measureE2e } from './e2e-rate.js';
import { measureFleet } from './fleet.js';
import { startLoadGenerator, stopLoadGenerator } from './load.js';
import { parseOptions, type BenchOptions } from './options.js';
import { measurePlanCost } from './plan-cost.js';
import { measurePriority } from './priority.js';
import type { ServiceHandle } from './repetitions.js';
import { elapsedSeconds, progress } from './progress.js';
import { buildRows, formatTable, writeResults, type SectionResults } from './report.js';
import { startDeployment, type Deployment } from './service-processes.js';
import { measureRetention } from './retention.js';
import { measureSoak } from './soak.js';
import { round, summarize } from './stats.js';

const o = parseOptions(process.argv.slice(2));
const startedAt = new Date();
progress(`${o.quick ? 'quick' : 'full'} run; sections: ${o.sections.join(', ')}; ${o.reps} repetition(s) per figure`);
const quiet = await machineQuiet();

const b = await createBenchEnv();
progress(`schema ${b.schema}, queue prefix ${b.prefix}`);
const machineInfo = await machine(b);
progress(`load generator pid ${await startLoadGenerator()}`);
/** Held in an object: it is set inside service(), which TypeScript's narrowing of a `let` does not see. */
const live: { deployment: Deployment | null } = { deployment: null };
/** What a section started beside the deployment (the baseline section's processes and schemas). */
const sectionCleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | null = null;
/** Stops the service processes, then drops the schema and our keys; once, whatever called it. */
const cleanup = (): Promise<void> =>
  (cleaning ??= (async () => {
    for (const c of sectionCleanups) await c();
    if (live.deployment) await live.deployment.stop().catch((err: unknown) => progress(`stopping the service failed: ${String(err)}`));
    await stopLoadGenerator().catch((err: unknown) => progress(`stopping the load generator failed: ${String(err)}`));
    await b.close().catch((err: unknown) => progress(`cleanup failed: ${String(err)}`));
    progress(`removed schema ${b.schema} and keys ${b.prefix}:*`);
  })());
// `on`, not `once`: Ctrl-C reaches us several times (the terminal's process group, then tsx and npm
// relaying it), and a second signal without a listener would kill us before the cleanup is done.
let interrupted = false;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping and cleaning up`);
    void cleanup().finally(() => process.exit(code));
  });
}
// Whatever goes wrong (the children die on Ctrl-C before we do), the schema and keys still go.
process.on('unhandledRejection', (err) => {
  progress(`unexpected: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void cleanup().finally(() => process.exit(1));
});

const results: SectionResults = {};
try {
  if (o.sections.includes('ceilings')) {
    progress('ceilings: raw BullMQ and pg on this Redis and PostgreSQL');
    results.ceilings = await attempt(() => measureCeilings(b, o));
  }
  if (o.sections.includes('plans')) results.plans = await attempt(() => measurePlanCost(b));
  const handle: ServiceHandle = {
    get: () => service(b),
    died: () => live.deployment !== null && !(live.deployment.api.alive() && live.deployment.worker.alive()),
  };
  if (o.sections.includes('baseline') && o.baseline !== undefined) {
    const rev = o.baseline;
    results.baseline = await attempt(() => measureBaseline(o, rev, (c) => sectionCleanups.push(c)));
  }
  if (o.sections.includes('e2e')) results.e2e = await attempt(() => measureE2e(b, handle, o));
  if (o.sections.includes('bulk')) results.bulk = await attempt(() => measureBulk(b, handle, o));
  if (o.sections.includes('priority')) results.priority = await attempt(() => measurePriority(b, handle, o));
  if (o.sections.includes('soak')) {
    const { rate, source } = steadyRate(o, results);
    results.soak = await attempt(() => measureSoak(b, handle, o, rate, source));
  }
  if (o.sections.includes('retention')) {
    const { rate, source } = steadyRate(o, results);
    results.retention = await attempt(() => measureRetention(b, handle, o, rate, source));
  }
  if (o.sections.includes('fleet')) results.fleet = await attempt(() => measureFleet(o, (c) => sectionCleanups.push(c)));
  if (o.sections.includes('cluster')) results.cluster = await attempt(() => measureCluster(o, (c) => sectionCleanups.push(c)));
} finally {
  await cleanup();
}
// Interrupted: the signal handler exits; a partial run must not be written as a result.
if (interrupted) process.exit(130);

const rows = buildRows(o, results);
const table = formatTable(rows);
const contention = contentionOf(results);
const finishedAt = new Date();
const report = {
  version: 1,
  started_at: startedAt.toISOString(),
  finished_at: finishedAt.toISOString(),
  duration_seconds: round(elapsedSeconds(), 0),
  mode: o.quick ? 'quick' : 'full',
  sections: o.sections,
  options: o,
  machine: machineInfo,
  code: git(),
  service: live.deployment?.settings ?? null,
  quiet_before_start: quiet,
  contention,
  rows,
  table,
  // An Error has no enumerable fields: JSON would show {} for a section that failed.
  details: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v instanceof Error ? { error: v.message } : v])),
};
const files = writeResults(o, report, startedAt);
console.log(table);
if (contention.warning) progress(`WARNING: ${contention.warning}`);
progress(`done in ${round(elapsedSeconds() / 60, 1)} min; wrote ${files.join(', ')}`);
process.exit(0);

/** The deployment, started on first use and again if a process died in an earlier section. */
async function service(env: BenchEnv): Promise<Deployment> {
  const current = live.deployment;
  if (current?.api.alive() && current.worker.alive()) return current;
  if (current) {
    for (const p of [current.api, current.worker]) if (!p.alive()) progress(`the ${p.name} process (pid ${p.pid}) had died: ${p.tail()}`);
    progress('restarting both');
    await current.stop();
  }
  progress('starting the API and one worker from their build output');
  const started = await startDeployment(env, o.serviceEnv, o.profileDir);
  live.deployment = started;
  const settings = Object.entries(started.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  progress(`api pid ${started.api.pid}, worker pid ${started.worker.pid} at ${started.url}; ${settings}`);
  return started;
}

/** A section that fails becomes rows that say why; the others still run. */
async function attempt<T>(fn: () => Promise<T>): Promise<T | Error> {
  try {
    return await fn();
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    progress(`section failed: ${e.stack ?? e.message}`);
    return e;
  }
}

/** The rate of the steady-load sections (soak, retention). */
function steadyRate(opts: BenchOptions, r: SectionResults): { rate: number; source: string } {
  if (opts.soakRate !== undefined) return { rate: opts.soakRate, source: '--soak-rate' };
  const e = r.e2e;
  const sustained = e && !(e instanceof Error) ? summarize(e.reps.flatMap((rep) => (rep.sustained === null ? [] : [rep.sustained])))?.median : undefined;
  if (sustained !== undefined) return { rate: Math.max(10, Math.round(sustained / 2)), source: `half of ${sustained}/s sustained` };
  return { rate: 500, source: 'no sustained rate measured in this run: default 500/s' };
}

/** How much CPU went to things outside the benchmark while it measured (a shared machine understates every figure). */
function contentionOf(r: SectionResults): { outsideCpuMedian: number | null; outsideCpuMax: number | null; warning: string | null } {
  const usages: CpuUsage[] = [];
  if (r.e2e && !(r.e2e instanceof Error)) usages.push(...r.e2e.reps.flatMap((rep) => rep.steps.map((s) => s.cpu)));
  if (r.bulk && !(r.bulk instanceof Error)) usages.push(...r.bulk.reps.map((rep) => rep.cpu));
  if (r.priority && !(r.priority instanceof Error)) usages.push(...r.priority.reps.map((rep) => rep.cpu));
  if (r.soak && !(r.soak instanceof Error)) usages.push(...r.soak.reps.map((rep) => rep.cpu));
  if (r.fleet && !(r.fleet instanceof Error)) usages.push(...r.fleet.measurements.map((m) => m.cpu));
  if (r.cluster && !(r.cluster instanceof Error)) usages.push(...r.cluster.reps.flatMap((rep) => rep.ramp.steps.map((s) => s.cpu)));
  const s = summarize(usages.map(outsideCpu));
  if (!s) return { outsideCpuMedian: null, outsideCpuMax: null, warning: null };
  const warning = s.median > 20 ? `processes outside the benchmark used ${s.median} % of a core (median over the measurements, max ${s.max} %): the figures are understated` : null;
  return { outsideCpuMedian: s.median, outsideCpuMax: s.max, warning };
}

/** Three seconds of the machine at rest, to warn when something else is already using it. */
async function machineQuiet(): Promise<CpuUsage> {
  const before = cpuSnapshot();
  await sleep(3000);
  const usage = cpuUsage(before, cpuSnapshot(), {}, new Set());
  if (outsideCpu(usage) > 30) progress(`WARNING: the machine is busy before we start (${formatCpu(usage)}); figures will be understated`);
  return usage;
}

async function machine(env: BenchEnv) {
  const pgVersion = await env.db.pool
    .query<{ server_version: string }>('SHOW server_version')
    .then((r) => r.rows[0]?.server_version ?? null)
    .catch(() => null);
  const redisVersion = /^redis_version:(\S+)/m.exec(await env.redis.info('server'))?.[1] ?? null;
  return {
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? null,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    postgresql: pgVersion,
    redis: redisVersion,
  };
}

function git(): { commit: string | null; uncommitted_files: number | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, uncommitted_files: dirty };
  } catch {
    return { commit: null, uncommitted_files: null };
  }
}
