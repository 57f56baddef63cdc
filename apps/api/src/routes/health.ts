import { createRoute } from '@hono/zod-openapi';
import { AppError, assertRedisFit, type Db, type Redis } from '@notify/core/platform';
import { z } from 'zod';
import { newRouter } from '../router.js';
import { errorResponses, EVERY_REQUEST, jsonResponse } from '../openapi.js';

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

const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const Ready = z.object({ status: z.literal('ready'), checks: z.object({ postgres: z.literal('ok'), redis: z.literal('ok') }) }).meta({ id: 'Ready' });

/** /health: the process is alive. /ready: PostgreSQL answers and Redis answers, keeps every key (noeviction) and, as a cluster, serves every slot on every master; 503 otherwise. Both without a key. */
export function healthRoutes(deps: { db: Db; redis: Redis }) {
  const app = newRouter();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      tags: ['operations'],
      summary: 'Liveness: the process answers (checks nothing else)',
      security: [],
      responses: { 200: jsonResponse('Alive', Health), ...errorResponses(...EVERY_REQUEST) },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/ready',
      operationId: 'getReadiness',
      tags: ['operations'],
      summary: 'Readiness: PostgreSQL and Redis answer within 1 s, and every Redis master is fit (noeviction, cluster slots served)',
      description: 'A 503 lists each failed check in `details` (`path` is `postgres` or `redis`).',
      security: [],
      responses: { 200: jsonResponse('Ready', Ready), ...errorResponses(...EVERY_REQUEST, 503) },
    }),
    async (c) => {
      const [postgres, redis] = await Promise.all([check(() => deps.db.pool.query('SELECT 1')), check(() => assertRedisFit(deps.redis))]);
      if (postgres === null && redis === null) return c.json({ status: 'ready' as const, checks: { postgres: 'ok' as const, redis: 'ok' as const } }, 200);
      const details = [...(postgres ? [{ path: 'postgres', message: postgres }] : []), ...(redis ? [{ path: 'redis', message: redis }] : [])];
      throw new AppError('unavailable', 'Not ready', details);
    },
  );
  return app;
}
