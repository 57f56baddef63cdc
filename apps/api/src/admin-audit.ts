import { listAuditEvents } from '@notify/core/access';
import type { Db } from '@notify/core/platform';
import { AuditEventQuery } from '@notify/core/schemas';
import { Hono } from 'hono';
import type { ApiEnv } from './context.js';
import { validationError } from './errors.js';

export const ADMIN_AUDIT_PATH = '/admin/audit-events';

/**
 * GET /admin/audit-events: the operators' changes that are no app's (a
 * channel queue paused for every app), with the filters and paging of
 * GET /audit-events. An app's own log never shows them, nor its key another
 * app's; mounted behind the admin credentials. Read-only, like the app's.
 */
export function adminAuditRoutes(deps: { db: Db }) {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const query = AuditEventQuery.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error);
    return c.json(await listAuditEvents(deps.db, null, query.data));
  });
  return app;
}
