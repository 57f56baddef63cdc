// The render pool: every template render of the process runs here, off the event loop, under one budget per request.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { Channel } from '../platform/channels.js';
import { AppError, type ErrorDetail } from '../platform/errors.js';
import type { TemplateBody } from '../schemas/templates.js';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from './engine.js';
import type { LocaleOutcome, RenderJob, RenderTask, RenderTaskResult } from './render-task.js';

export interface RenderPoolOptions extends RenderLimits {
  /** Render threads (each runs one request's rendering at a time). */
  threads: number;
  /** How long a request may wait for a free render thread before a 503. */
  queueTimeoutMs: number;
}

/** Defaults of the TEMPLATE_* settings (env.ts), also used when nothing configured the pool. */
export const DEFAULT_RENDER_POOL: RenderPoolOptions = { ...DEFAULT_RENDER_LIMITS, threads: 2, queueTimeoutMs: 5000 };

/**
 * Liquid checks its limits only between nodes, so one slow filter call could
 * overrun the budget: past the budget plus this grace, the thread is
 * terminated (and replaced) so no request holds a thread for long.
 */
export const RENDER_BACKSTOP_GRACE_MS = 250;
/** Heap of one render thread; a render that needs more kills its thread and is refused. */
export const RENDER_THREAD_HEAP_MB = 256;

/** Ran from source (vitest, tsx), the thread loads the .ts task through tsx; built, the .js beside this file. */
function workerFile(): { filename: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { filename: new URL('./render-task.ts', here).href, execArgv: ['--import', tsx] };
  }
  return { filename: new URL('./render-task.js', here).href, execArgv: [] };
}

type Wait = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync is in Node 20's V8 but not in the ES2023 lib.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): Wait }).waitAsync;

export class RenderPool {
  private pool: Piscina<RenderTask, RenderTaskResult> | undefined;
  /** Settles once every thread has booted and run a trivial task: booting is not queueing. */
  private booted: Promise<unknown> | undefined;

  constructor(readonly options: RenderPoolOptions = DEFAULT_RENDER_POOL) {}

  /** Created at the first render, so a process that sends only plain messages starts no thread. */
  private threads(): Piscina<RenderTask, RenderTaskResult> {
    if (!this.pool) {
      const { filename, execArgv } = workerFile();
      const n = Math.max(1, this.options.threads);
      this.pool = new Piscina<RenderTask, RenderTaskResult>({
        filename,
        execArgv,
        minThreads: n,
        maxThreads: n,
        idleTimeout: 60_000,
        resourceLimits: { maxOldGenerationSizeMb: RENDER_THREAD_HEAP_MB },
      });
      const pool = this.pool;
      // A thread boots in tens of milliseconds built, a second or more through tsx on a
      // busy machine; the queue timeout must measure waiting for a busy thread, not that.
      const warm = (): Promise<unknown> =>
        pool.run({ kind: 'check', body: { default_locale: 'en', locales: {} }, limits: this.limits(), progress: new Int32Array(new SharedArrayBuffer(8)) });
      this.booted = Promise.allSettled(Array.from({ length: n }, warm));
    }
    return this.pool;
  }

  private limits(): RenderLimits {
    return { timeMs: this.options.timeMs, memory: this.options.memory, fieldBytes: this.options.fieldBytes, totalBytes: this.options.totalBytes };
  }

  /**
   * Runs one task: waits up to queueTimeoutMs for a thread (503 after), then
   * gives it the time budget plus the backstop grace before killing it.
   */
  async run(task: DistributiveOmit<RenderTask, 'limits' | 'progress'>, jobPaths: string[] = []): Promise<RenderTaskResult> {
    const progress = new Int32Array(new SharedArrayBuffer(8));
    const abort = new AbortController();
    let reason: 'queue' | 'budget' | null = null;
    let timer: NodeJS.Timeout | undefined;
    const threads = this.threads();
    await this.booted;
    const running = threads.run({ ...task, limits: this.limits(), progress } as RenderTask, { signal: abort.signal });
    const started = waitAsync(progress, 0, 0, this.options.queueTimeoutMs);
    const onStart = (value: string) => {
      if (Atomics.load(progress, 0) === 2) return; // finished
      if (value === 'timed-out' && Atomics.load(progress, 0) === 0) {
        reason = 'queue';
        abort.abort();
        return;
      }
      timer = setTimeout(() => {
        reason = 'budget';
        abort.abort();
      }, this.options.timeMs + RENDER_BACKSTOP_GRACE_MS);
    };
    if (started.async) void started.value.then(onStart);
    else onStart(started.value === 'not-equal' ? 'ok' : started.value);
    try {
      return await running;
    } catch (err) {
      if (reason === 'queue') throw new AppError('unavailable', 'Template rendering is busy; retry shortly', undefined, { headers: { 'Retry-After': '1' }, cause: err });
      if (reason === 'budget') {
        const path = jobPaths[Atomics.load(progress, 1)] ?? '';
        throw tooExpensive([{ path: `${path}template`, message: `rendering took more than ${this.options.timeMs} ms, the budget of one request` }]);
      }
      if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const path = jobPaths[Atomics.load(progress, 1)] ?? '';
        throw tooExpensive([{ path: `${path}template`, message: `rendering needs more than ${RENDER_THREAD_HEAP_MB} MB of memory` }]);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      // Wakes the pending waitAsync, so it holds nothing after the task.
      Atomics.store(progress, 0, 2);
      Atomics.notify(progress, 0);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function tooExpensive(details: ErrorDetail[]): AppError {
  return new AppError('template_too_expensive', 'The template takes too much time or memory to render', details);
}

/** A task's refusal as the API's error; a bad-syntax result is validation_failed with `message`. */
function failure(result: Extract<RenderTaskResult, { ok: false }>, message: string): AppError {
  switch (result.kind) {
    case 'too_expensive':
      return tooExpensive(result.details);
    case 'output_too_large':
      return new AppError('template_output_too_large', 'The template renders more than the output caps allow', result.details);
    case 'invalid':
      return new AppError('validation_failed', message, result.details);
  }
}

/**
 * The process's pool. One per process, like its database pool: main.ts
 * configures it from the environment and closes it on shutdown; tests and
 * tools get the documented defaults.
 */
let shared: RenderPool | undefined;

export function configureRenderPool(options: RenderPoolOptions): RenderPool {
  void shared?.close();
  shared = new RenderPool(options);
  return shared;
}

export function renderPool(): RenderPool {
  shared ??= new RenderPool();
  return shared;
}

export async function closeRenderPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

/** Checks in the pool that every field parses and loads no file; 422 naming each bad field. */
export async function checkTemplate(body: TemplateBody): Promise<void> {
  const result = await renderPool().run({ kind: 'check', body });
  if (!result.ok) throw failure(result, 'A template does not parse');
}

/**
 * Renders every job of one request in one task (one budget): each job's
 * content by locale. Budget refusals are thrown (422 template_too_expensive /
 * template_output_too_large); a locale that cannot render with the data is an
 * outcome with details, since only the locale chosen for a recipient matters.
 */
export async function renderJobs(body: TemplateBody, channels: Channel[], jobs: RenderJob[]): Promise<Record<string, LocaleOutcome>[]> {
  const result = await renderPool().run(
    { kind: 'render', body, channels, jobs },
    jobs.map((j) => j.path),
  );
  if (!result.ok) throw failure(result, 'The template does not render with this data');
  return result.outcomes;
}

export type { LocaleOutcome, RenderJob } from './render-task.js';
