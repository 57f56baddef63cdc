import type { Pool } from 'pg';
import type { ErrorDetail } from '../platform/errors.js';
import { assertRedisFit, type Redis } from '../platform/redis.js';

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
 * answer within a second, and Redis is fit for queues (noeviction on every
 * master; a cluster with every slot served). One detail per failed check,
 * `path` naming it (`postgres`, `redis`); none when both pass.
 */
export async function dependencyFailures(deps: { pool: Pick<Pool, 'query'>; redis: Redis }): Promise<ErrorDetail[]> {
  const [postgres, redis] = await Promise.all([check(() => deps.pool.query('SELECT 1')), check(() => assertRedisFit(deps.redis))]);
  return [...(postgres ? [{ path: 'postgres', message: postgres }] : []), ...(redis ? [{ path: 'redis', message: redis }] : [])];
}
