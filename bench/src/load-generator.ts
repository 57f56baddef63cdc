// The load generator, a process of its own (forked by load.ts): its CPU is
// counted as the load generator's, apart from the API's and the benchmark's,
// and it never competes with the benchmark's own event loop.
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadProgress, LoadResult, LoadSpec } from './load.js';
import { percentile } from './stats.js';

/**
 * Autocannon gives each connection a budget of requests per second, spent
 * back to back at the start of every second. One instance therefore fires
 * all of its connections at once each second and idles for the rest: a
 * burst that makes the API's latency look like saturation even at a modest
 * average rate. We run INSTANCES instances with a share of the rate each,
 * started 1/INSTANCES s apart, so the bursts are small and spread over the
 * second; the latency is then close to that of a steady arrival rate.
 */
const INSTANCES = 20;
/**
 * Requests per second per connection. Low enough that a connection keeps up
 * even when a response takes 100 ms, so a slow API shows up as latency and
 * a shortfall of the achieved rate, not as a client out of connections.
 */
const PER_CONNECTION_RATE = 10;

async function fixedRateLoad(spec: Omit<LoadSpec, 'watch'>, watch: (so: LoadProgress) => Promise<string | null>): Promise<LoadResult> {
  const instances = Math.max(1, Math.min(INSTANCES, Math.floor(spec.rate / PER_CONNECTION_RATE)));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  let connections = 0;
  let aborted: string | null = null;
  const runs: Promise<void>[] = [];
  const cannons: autocannon.Instance[] = [];
  const started = performance.now();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await sleep(1000);
      if (!watching) break;
      const ok = latencies.length;
      const all = Object.values(statuses).reduce((a, b) => a + b, 0);
      const reason = await watch({ elapsedSeconds: (performance.now() - started) / 1000, ok, notOk: all - ok, errors });
      if (reason && watching) {
        aborted = reason;
        for (const i of cannons) i.stop();
        break;
      }
    }
  })();
  for (let i = 0; i < instances; i++) {
    const rate = Math.floor(spec.rate / instances) + (i < spec.rate % instances ? 1 : 0);
    const conns = Math.max(1, Math.ceil(rate / PER_CONNECTION_RATE));
    connections += conns;
    runs.push(
      new Promise<void>((resolve, reject) => {
        const instance = autocannon(
          {
            url: spec.url,
            method: 'POST',
            headers: { authorization: `Bearer ${spec.key}`, 'content-type': 'application/json' },
            body: spec.body,
            idReplacement: true,
            connections: conns,
            overallRate: rate,
            duration: spec.seconds,
            timeout: 10,
            // Its correction assumes 1 ms between requests whatever the rate (a unit bug), inflating
            // every latency; we record raw response times ourselves.
            ignoreCoordinatedOmission: true,
          },
          (err: unknown, result) => {
            if (err) reject(err instanceof Error ? err : new Error(String(err)));
            else {
              timeouts += result.timeouts;
              resolve();
            }
          },
        );
        cannons.push(instance);
        instance.on('response', (_client, statusCode, _bytes, responseTime) => {
          statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
          if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
        });
        instance.on('reqError', () => errors++);
      }),
    );
    await sleep(1000 / instances);
    if (aborted) break;
  }
  await Promise.all(runs);
  watching = false;
  await watcher;
  latencies.sort((a, b) => a - b);
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  const ok = latencies.length;
  const elapsed = Math.min(spec.seconds, (performance.now() - started) / 1000);
  return {
    rate: spec.rate,
    seconds: spec.seconds,
    connections,
    responses,
    ok,
    non2xx: responses - ok,
    errors,
    timeouts,
    statuses,
    achievedRate: ok / (aborted ? elapsed : spec.seconds),
    latencyMs: ok === 0 ? null : { p50: percentile(latencies, 0.5)!, p90: percentile(latencies, 0.9)!, p99: percentile(latencies, 0.99)!, max: latencies.at(-1)! },
    aborted,
  };
}

/** Messages between the benchmark (load.ts) and this process. */
export type GeneratorCommand = { type: 'run'; spec: Omit<LoadSpec, 'watch'>; watched: boolean } | { type: 'verdict'; reason: string | null } | { type: 'exit' };
export type GeneratorMessage = { type: 'ready' } | { type: 'progress'; progress: LoadProgress } | { type: 'result'; result: LoadResult } | { type: 'failed'; error: string };

const send = (m: GeneratorMessage) => process.send?.(m);
let verdict: ((reason: string | null) => void) | null = null;
process.on('message', (m: GeneratorCommand) => {
  if (m.type === 'exit') process.exit(0);
  else if (m.type === 'verdict') verdict?.(m.reason);
  else {
    // The parent judges each second's counts (it can see the database); we wait for its verdict.
    const watch = async (progress: LoadProgress) => {
      if (!m.watched) return null;
      const answer = new Promise<string | null>((resolve) => (verdict = resolve));
      send({ type: 'progress', progress });
      return answer;
    };
    fixedRateLoad(m.spec, watch).then(
      (result) => send({ type: 'result', result }),
      (err: unknown) => send({ type: 'failed', error: err instanceof Error ? err.message : String(err) }),
    );
  }
});
// The parent gone (Ctrl-C, a crash): nothing is left generating load.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
