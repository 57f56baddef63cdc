import type { Db } from '@notify/core/platform';
import { getBatch } from '@notify/core/notifications';
import { Batch } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { errorResponses, IdParams, jsonResponse, tenantRoute } from '../openapi.js';

/** Progress of a bulk send or a topic fan-out. */
export function batchRoutes(deps: { db: Db }) {
  const app = newRouter();
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getBatch',
      tags: ['notifications'],
      summary: 'Progress of a bulk send or topic fan-out',
      request: { params: IdParams },
      responses: { 200: jsonResponse('Counts by status', Batch), ...errorResponses(404) },
    }),
    async (c) => c.json(await getBatch(deps.db, c.get('appId'), c.req.valid('param').id), 200),
  );
  return app;
}
