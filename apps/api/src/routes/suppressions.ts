import type { Db } from '@notify/core/platform';
import { deleteSuppression, listSuppressions } from '@notify/core/suppressions';
import { SuppressionPage, SuppressionQuery } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { errorResponses, IdParams, pageResponses, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** The suppression list: addresses providers refused for good, which later deliveries skip (`suppressed`). */
export function suppressionRoutes(deps: { db: Db }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listSuppressions',
      tags: ['suppressions'],
      summary: "The app's suppressed addresses, newest first",
      description: 'Deliveries to a suppressed address end `skipped` with reason `suppressed`, with no provider call.',
      request: { query: SuppressionQuery },
      responses: pageResponses(SuppressionPage, 'A page, newest first'),
    }),
    async (c) => c.json(await listSuppressions(db, c.get('appId'), c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{id}',
      operationId: 'deleteSuppression',
      tags: ['suppressions'],
      summary: 'Lift a suppression: the address may be sent to again',
      description: 'A STOP also opted the user out of SMS; that preference stays until it is changed (POST /users/{user_id}/preferences).',
      request: { params: IdParams },
      responses: { 204: { description: 'Lifted' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteSuppression(db, c.get('appId'), c.req.valid('param').id, keyActor(c));
      return c.body(null, 204);
    },
  );

  return app;
}
