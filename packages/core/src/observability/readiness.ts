import type { Pool } from 'pg';
import type { ErrorDetail } from '../platform/errors.js';
import type { Redis } from '../platform/redis.js';

/** How long /ready waits for each dependency before calling it down. */
export const READY_CHECK_TIMEOUT_MS = 1000;

/** null when `fn` settles within the timeout, else why it did not. */
async function check(fn: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (err) {
    return (err as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What /ready asks on every process (API and worker): PostgreSQL and Redis
 * answer within a second. One detail per failed check, `path` naming it
 * (`postgres`, `redis`); none when both answer.
 */
export async function dependencyFailures(deps: { pool: Pick<Pool, 'query'>; redis: Pick<Redis, 'ping'> }): Promise<ErrorDetail[]> {
  const [postgres, redis] = await Promise.all([check(() => deps.pool.query('SELECT 1')), check(() => deps.redis.ping())]);
  return [...(postgres ? [{ path: 'postgres', message: postgres }] : []), ...(redis ? [{ path: 'redis', message: redis }] : [])];
}
