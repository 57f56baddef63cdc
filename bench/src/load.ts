import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { GeneratorCommand, GeneratorMessage } from './load-generator.js';

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

/** The one load generator process of this run, forked on first use (or by startLoadGenerator, outside any measurement). */
let generator: Promise<ChildProcess> | null = null;
let generatorPid: number | null = null;

/** The load generator's pid once forked: cpu.ts counts its CPU as `load`. */
export const loadGeneratorPid = (): number | null => generatorPid;

/** Forks the load generator now, so that its start-up falls outside every measured interval. */
export async function startLoadGenerator(): Promise<number> {
  generator ??= forkGenerator();
  const child = await generator;
  return child.pid!;
}

export async function stopLoadGenerator(): Promise<void> {
  if (!generator) return;
  const child = await generator;
  generator = null;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.send({ type: 'exit' } satisfies GeneratorCommand);
  await exited;
}

async function forkGenerator(): Promise<ChildProcess> {
  const child = fork(path.join(import.meta.dirname, 'load-generator.ts'), [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [m] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [null])])) as [GeneratorMessage | null];
  if (m?.type !== 'ready') throw new Error(`the load generator exited (code ${child.exitCode}) before it was ready`);
  generatorPid = child.pid ?? null;
  return child;
}

/**
 * POST at a fixed rate from the load generator process (load-generator.ts,
 * autocannon): its CPU shows as the load generator's, apart from the
 * service's, and the benchmark's event loop stays free for the watch.
 */
export async function fixedRateLoad(spec: LoadSpec): Promise<LoadResult> {
  await startLoadGenerator();
  const child = await generator!;
  const { watch, ...rest } = spec;
  let watchError: unknown = null;
  return new Promise<LoadResult>((resolve, reject) => {
    const onExit = () => reject(new Error(`the load generator exited (code ${child.exitCode}) during a load`));
    const done = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: GeneratorMessage) => {
      if (m.type === 'progress') {
        // A failing watch stops the load; its error reaches our caller once the load has stopped.
        void (watch ? watch(m.progress) : Promise.resolve(null))
          .catch((err: unknown) => {
            watchError = err;
            return `watch failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
          })
          .then((reason) => child.send({ type: 'verdict', reason } satisfies GeneratorCommand));
      } else if (m.type === 'result') {
        done();
        if (watchError !== null) reject(watchError);
        else resolve(m.result);
      } else if (m.type === 'failed') {
        done();
        reject(new Error(`the load generator failed: ${m.error}`));
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'run', spec: rest, watched: watch !== undefined } satisfies GeneratorCommand);
  });
}
