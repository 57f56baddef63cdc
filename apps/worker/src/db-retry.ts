import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict, isConnectionError } from '@notify/core/platform';

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
