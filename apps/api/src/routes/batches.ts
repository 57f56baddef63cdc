import { cancelBatch, getBatch, type NotificationDeps } from '@notify/core/notifications';
import { Batch, BatchCancel } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { errorResponses, IdParams, jsonResponse, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** Progress of a bulk send or a topic fan-out, and stopping one. */
export function batchRoutes(deps: NotificationDeps) {
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
  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{id}/cancel',
      operationId: 'cancelBatch',
      tags: ['notifications'],
      summary: 'Stop a bulk send or topic fan-out',
      description:
        'A topic fan-out still under way creates no more notifications (the chunk being written finishes first); every delivery of the batch not yet handed to a provider (queued, scheduled, waiting to retry) becomes `cancelled` and its job is removed. One being sent right now finishes. 409 when nothing was left to stop.',
      request: { params: IdParams },
      responses: { 200: jsonResponse('What was stopped, and the batch after it', BatchCancel), ...errorResponses(404, 409) },
    }),
    async (c) => c.json(await cancelBatch(deps, c.get('appId'), c.req.valid('param').id, keyActor(c)), 200),
  );
  return app;
}
