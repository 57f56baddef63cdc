import { dependencyFailures } from '@notify/core/observability';
import type { ErrorDetail, Pool, Redis } from '@notify/core/platform';

/** What readiness needs of a BullMQ worker. */
export interface RunningWorker {
  readonly name: string;
  isRunning(): boolean;
}

/**
 * Whether this worker process should count as ready: PostgreSQL and Redis
 * answer (the same checks as the API's /ready), every BullMQ worker runs, and
 * it is not shutting down. Each failed check is one detail, `path` naming it.
 */
export class WorkerReadiness {
  private workers: readonly RunningWorker[] | null = null;
  private draining = false;

  constructor(private readonly deps: { pool: Pick<Pool, 'query'>; redis: Redis }) {}

  /** The workers to watch, once they are created; until then the process is starting. */
  watch(workers: readonly RunningWorker[]): void {
    this.workers = workers;
  }

  /** From now on not ready: called first on SIGTERM, before the workers close. */
  drain(): void {
    this.draining = true;
  }

  async failures(): Promise<ErrorDetail[]> {
    if (this.draining) return [{ path: 'shutdown', message: 'shutting down: finishing in-flight jobs' }];
    const stopped = this.workers?.filter((w) => !w.isRunning()).map((w) => w.name) ?? [];
    const workers = this.workers === null ? 'starting' : stopped.length > 0 ? `not running: ${stopped.join(', ')}` : null;
    return [...(await dependencyFailures(this.deps)), ...(workers ? [{ path: 'workers', message: workers }] : [])];
  }
}
