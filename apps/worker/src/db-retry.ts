import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionError } from '@notify/core/platform';

/**
 * A statement PostgreSQL rolled back to break a deadlock (or a serialization
 * conflict): running it again is safe. Outcome batches of two channel workers
 * can meet on the same notification rows in opposite orders.
 */
function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * Runs a database call, retrying while PostgreSQL cannot be reached (or broke
 * a deadlock), for up to `windowMs`. An outage of ours must not use up a
 * delivery's attempts, and above all must not turn a completed send into a
 * retry (a second send).
 */
export async function withDbRetry<T>(fn: () => Promise<T>, windowMs: number): Promise<T> {
  const deadline = Date.now() + windowMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if (!(isConnectionError(err) || isConflict(err)) || Date.now() + wait > deadline) throw err;
      await sleep(wait);
    }
  }
}
