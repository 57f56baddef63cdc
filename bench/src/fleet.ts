import { createBenchEnv, type BenchEnv } from './bench-env.js';
import { postBulk } from './bulk.js';
import { formatCpu, withCpu, type CpuUsage } from './cpu.js';
import { deliveryStats, steadyDeliveryRate, waitUntilFinished } from './delivery-stats.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { startDeployment, type Deployment } from './service-processes.js';
import { round } from './stats.js';

/** One backlog worked off by `workers` processes of the bench channel. */
export interface FleetMeasurement {
  rep: number;
  workers: number;
  notifications: number;
  /** Deliveries per second over the middle 80 % of the deliveries (steadyDeliveryRate); null when too few were delivered. */
  deliveriesPerSecond: number | null;
  /** What the processes can do at most while they only wait: concurrency × processes / latency. */
  ceiling: number;
  failed: number;
  refused: string[];
  /** From the first bulk request to the last delivery; `worker` is every worker process together. */
  cpu: CpuUsage;
}

export interface FleetResult {
  /** The environment of the fleet's API and workers (secrets left out). */
  settings: Record<string, string>;
  latencyMs: number;
  concurrency: number;
  measurements: FleetMeasurement[];
  failures: string[];
}

/**
 * Scale-out of one channel: the built API and 1, 2, 4 worker processes of the
 * bench channel, whose provider is the simulated one with a fixed latency, so
 * the work is waiting on the provider rather than CPU. Each measurement is a
 * backlog of about fleetSeconds of work at its ceiling, sent through the bulk
 * endpoint faster than the workers deliver; its rate is that of the middle of
 * the drain. Repetitions alternate the order of the process counts (up, then
 * down), so a machine that slows down weighs on all of them. The section has
 * its own schema and key prefix: the other sections' worker must not take its jobs.
 */
export async function measureFleet(o: BenchOptions, register: (cleanup: () => Promise<void>) => void): Promise<FleetResult> {
  const settings = {
    IN_APP_CONCURRENCY: String(o.fleetConcurrency),
    SIMULATED_LATENCY_MS: String(o.fleetLatencyMs),
    ...o.serviceEnv,
    IN_APP_PROVIDERS: 'simulated',
  };
  const latencyMs = Number(settings.SIMULATED_LATENCY_MS);
  const concurrency = Number(settings.IN_APP_CONCURRENCY);
  let env: BenchEnv | null = null;
  let d: Deployment | null = null;
  const cleanup = async () => {
    await d?.stop().catch((err: unknown) => progress(`stopping the fleet failed: ${String(err)}`));
    await env?.close().catch((err: unknown) => progress(`cleanup of the fleet's schema failed: ${String(err)}`));
    d = null;
    env = null;
  };
  register(cleanup);
  try {
    env = await createBenchEnv();
    progress(`fleet: schema ${env.schema}; in-app through the simulated provider, ${latencyMs} ms per send, concurrency ${concurrency} per process`);
    d = await startDeployment(env, settings, o.profileDir);
    const result: FleetResult = { settings: d.settings, latencyMs, concurrency, measurements: [], failures: [] };
    const counts = [...o.fleetWorkers].sort((x, y) => x - y);
    // Warm-up: JIT, pools and caches of the API and the first worker.
    await d.scaleWorkers(1);
    await drain(env, d, { rep: 0, workers: 1, seconds: Math.max(1, o.fleetSeconds / 4), latencyMs, concurrency }, 'fleet-warmup');
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const workers of rep % 2 === 1 ? counts : [...counts].reverse()) {
        try {
          await d.scaleWorkers(workers);
          result.measurements.push(await drain(env, d, { rep, workers, seconds: o.fleetSeconds, latencyMs, concurrency }, `fleet-r${rep}-w${workers}`));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          result.failures.push(`rep ${rep}, ${workers} workers: ${message.split('\n')[0]}`);
          progress(`fleet rep ${rep} with ${workers} workers failed: ${message}`);
          // After the cleanup (interrupted), nothing is restarted.
          if (env === null) throw err;
          if (!d.workers().every((w) => w.alive()) || !d.api.alive()) {
            progress('fleet: a process died; restarting the fleet');
            await d.stop();
            d = await startDeployment(env, settings, o.profileDir);
          }
        }
      }
    }
    return result;
  } finally {
    await cleanup();
  }
}

/** A backlog of `seconds` of work at the ceiling, sent at once, and the deliveries/s while it is worked off. */
async function drain(
  env: BenchEnv,
  d: Deployment,
  m: { rep: number; workers: number; seconds: number; latencyMs: number; concurrency: number },
  label: string,
): Promise<FleetMeasurement> {
  d.assertAlive();
  const { rep, workers } = m;
  const ceiling = (m.concurrency * workers * 1000) / m.latencyMs;
  const { appId, key } = await env.newApp(label);
  const pids = { api: d.api.pid, worker: d.workers().map((w) => w.pid) };
  const { result, cpu } = await withCpu(env.db.pool, pids, async () => {
    const sent = await postBulk(d, key, ceiling * m.seconds, label);
    const finished = await waitUntilFinished(env, appId, 600_000, () => d.assertAlive());
    return { sent, finished };
  });
  if (result.finished === null) throw new Error(`${label}: deliveries unfinished 10 minutes after the backlog was sent`);
  const stats = await deliveryStats(env, appId);
  const rate = await steadyDeliveryRate(env, appId);
  const out: FleetMeasurement = { rep, workers, notifications: stats.notifications, deliveriesPerSecond: rate, ceiling, failed: stats.failed, refused: result.sent.refused, cpu };
  progress(
    `${label}: ${workers} worker process(es), ${stats.notifications} notifications, ${rate === null ? '-' : round(rate, 0)} deliveries/s ` +
      `(ceiling ${ceiling}/s: ${rate === null ? '-' : round((rate / ceiling) * 100, 1)} %), ${stats.failed} failed` +
      (out.refused.length ? `, ${out.refused.length} bulk requests refused: ${out.refused[0]}` : '') +
      ` | ${formatCpu(cpu)}`,
  );
  return out;
}
