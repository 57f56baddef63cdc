import type { Db } from '@notify/core/platform';
import { listAuditEvents } from '@notify/core/access';
import { AuditEventPage, AuditEventQuery } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { pageResponses, tenantRoute } from '../openapi.js';

/** The app's audit log, read-only: no route updates or deletes an event. */
export function auditRoutes(deps: { db: Db }) {
  const app = newRouter();

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listAuditEvents',
      tags: ['audit'],
      summary: 'Changes made through the API, newest first',
      description:
        "Who (an API key's id; the admin user name for the dashboard; the OS user for the keys CLI) changed what, when, in which request. Each event commits in the same transaction as its change: a change that failed or rolled back has none. Operators' changes that are no app's (a channel queue paused) are listed by GET /admin/audit-events instead. Filters combine; `from` is inclusive, `to` exclusive.",
      request: { query: AuditEventQuery },
      responses: pageResponses(AuditEventPage),
    }),
    async (c) => c.json(await listAuditEvents(deps.db, c.get('appId'), c.req.valid('query')), 200),
  );

  return app;
}
