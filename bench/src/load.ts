import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './stats.js';

export interface LoadSpec {
  /** Full URL, path included. */
  url: string;
  /** API key for `Authorization: Bearer`. */
  key: string;
  /** JSON body; `[<id>]` is replaced by a unique id per request (autocannon's idReplacement). */
  body: string;
  /** Requests per second over all connections. */
  rate: number;
  seconds: number;
  /**
   * Called every second with the counts so far; a reason stops the load at
   * once (a step that is clearly failing need not run its full duration).
   */
  watch?: (so: LoadProgress) => Promise<string | null>;
}

export interface LoadProgress {
  elapsedSeconds: number;
  ok: number;
  notOk: number;
  errors: number;
}

export interface LoadResult {
  rate: number;
  seconds: number;
  connections: number;
  responses: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  /** 2xx responses per second of the nominal duration. */
  achievedRate: number;
  /** Client-side request latency of 2xx responses, ms (send to last byte). */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  /** Why the load was stopped before its duration, if it was. */
  aborted: string | null;
}

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

export async function fixedRateLoad(spec: LoadSpec): Promise<LoadResult> {
  const instances = Math.max(1, Math.min(INSTANCES, Math.floor(spec.rate / PER_CONNECTION_RATE)));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  let connections = 0;
  let aborted: string | null = null;
  let watchError: unknown = null;
  const runs: Promise<void>[] = [];
  const cannons: autocannon.Instance[] = [];
  const started = performance.now();
  let watching = spec.watch !== undefined;
  const watcher = (async () => {
    while (watching && spec.watch) {
      await sleep(1000);
      if (!watching) break;
      const ok = latencies.length;
      const all = Object.values(statuses).reduce((a, b) => a + b, 0);
      let reason: string | null;
      try {
        reason = await spec.watch({ elapsedSeconds: (performance.now() - started) / 1000, ok, notOk: all - ok, errors });
      } catch (err) {
        // Stop the load, then throw it to our caller once the instances have finished.
        watchError = err;
        reason = `watch failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
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
  if (watchError !== null) throw watchError;
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
