import { AppError, type Db, type Redis } from '@notify/core';
import { Hono } from 'hono';
import type { ApiEnv } from '../context.js';
import { errorResponse } from '../errors.js';

const CHECK_TIMEOUT_MS = 1000;

async function check(fn: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (err) {
    return (err as Error).message || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** /health: the process is alive. /ready: PostgreSQL and Redis answer; 503 otherwise. */
export function healthRoutes(deps: { db: Db; redis: Redis }) {
  const app = new Hono<ApiEnv>();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const [postgres, redis] = await Promise.all([
      check(() => deps.db.pool.query('SELECT 1')),
      check(() => deps.redis.ping()),
    ]);
    if (postgres === null && redis === null) return c.json({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    const details = [
      ...(postgres ? [{ path: 'postgres', message: postgres }] : []),
      ...(redis ? [{ path: 'redis', message: redis }] : []),
    ];
    return errorResponse(c, new AppError('unavailable', 'Not ready', details));
  });
  return app;
}
