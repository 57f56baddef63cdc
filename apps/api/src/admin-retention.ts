import type { Db, Redis } from '@notify/core/platform';
import { retentionStatus } from '@notify/core/retention';
import { Hono } from 'hono';
import type { ApiEnv } from './context.js';

export const ADMIN_RETENTION_PATH = '/admin/retention';

/**
 * GET /admin/retention: the last retention run (as the worker that ran it
 * recorded it) and the oldest notification still kept, so an operator can
 * see that old records go; mounted behind the admin credentials.
 */
export function adminRetentionRoutes(deps: { db: Db; redis: Redis; prefix: string }) {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => c.json(await retentionStatus(deps.redis, deps.db.pool, deps.prefix)));
  return app;
}
