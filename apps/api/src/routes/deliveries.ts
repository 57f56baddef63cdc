import type { Redis } from '@notify/core/platform';
import { getDelivery, listDeliveries, replayDelivery, replayFailed, type ReplayDeps } from '@notify/core/deliveries';
import { DeliveryDetail, DeliveryListQuery, DeliveryPage, ReplayFilter, ReplayResult } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { requireRedis } from '../middleware/require-redis.js';
import { errorResponses, IdParams, jsonBody, jsonResponse, pageResponses, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** Deliveries across notifications: the dead-letter list and its replay. */
export function deliveryRoutes(deps: ReplayDeps & { redis: Redis }) {
  const app = newRouter();
  app.use('/retry', requireRedis(deps.redis));
  app.use('/:id/retry', requireRedis(deps.redis));

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listDeliveries',
      tags: ['deliveries'],
      summary: 'Deliveries newest first; `status=failed` lists the dead letters',
      request: { query: DeliveryListQuery },
      responses: pageResponses(DeliveryPage),
    }),
    async (c) => c.json(await listDeliveries(deps.db, c.get('appId'), c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/retry',
      operationId: 'replayFailedDeliveries',
      tags: ['deliveries'],
      summary: 'Replay failed deliveries matching a filter',
      description: 'Each goes back to its queue with fresh attempts and the same delivery id; each replay is recorded.',
      request: { body: jsonBody(ReplayFilter) },
      responses: { 200: jsonResponse('What was replayed', ReplayResult) },
    }),
    async (c) => c.json(await replayFailed(deps, c.get('appId'), c.req.valid('json'), c.get('requestId'), keyActor(c)), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getDelivery',
      tags: ['deliveries'],
      summary: 'A delivery with every attempt and replay',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The delivery', DeliveryDetail), ...errorResponses(404) },
    }),
    async (c) => c.json(await getDelivery(deps.db, c.get('appId'), c.req.valid('param').id), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{id}/retry',
      operationId: 'replayDelivery',
      tags: ['deliveries'],
      summary: 'Replay one failed delivery',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The delivery, queued again', DeliveryDetail), ...errorResponses(404, 409) },
    }),
    async (c) => c.json(await replayDelivery(deps, c.get('appId'), c.req.valid('param').id, c.get('requestId'), keyActor(c)), 200),
  );

  return app;
}
