import { createRoute } from '@hono/zod-openapi';
import { dependencyFailures } from '@notify/core/observability';
import { AppError, type Db, type Redis } from '@notify/core/platform';
import { z } from 'zod';
import { newRouter } from '../router.js';
import { errorResponses, EVERY_REQUEST, jsonResponse } from '../openapi.js';

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
      const failures = await dependencyFailures({ pool: deps.db.pool, redis: deps.redis });
      if (failures.length === 0) return c.json({ status: 'ready' as const, checks: { postgres: 'ok' as const, redis: 'ok' as const } }, 200);
      throw new AppError('unavailable', 'Not ready', failures);
    },
  );
  return app;
}
