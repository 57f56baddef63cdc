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
      description: 'Who (API key id, or `admin` for the dashboard) changed what, when, in which request. Filters combine; `from` is inclusive, `to` exclusive.',
      request: { query: AuditEventQuery },
      responses: pageResponses(AuditEventPage),
    }),
    async (c) => c.json(await listAuditEvents(deps.db, c.get('appId'), c.req.valid('query')), 200),
  );

  return app;
}
