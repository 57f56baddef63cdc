import type { Db } from '@notify/core/platform';
import { createStatusWebhook, deleteStatusWebhook, getStatusWebhook, listStatusEvents, listStatusWebhooks } from '@notify/core/status-webhooks';
import type { WebhookPolicy } from '@notify/core/audience';
import { CreateStatusWebhook, StatusEventPage, StatusEventQuery, StatusWebhook } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { errorResponses, IdParams, jsonBody, jsonResponse, listOf, pageResponses, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** Status webhooks: the app's own endpoints for delivery and notification events. */
export function webhookRoutes(deps: { db: Db; webhooks: WebhookPolicy }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createWebhook',
      tags: ['webhooks'],
      summary: 'Register an endpoint for delivery.delivered, delivery.failed and notification.completed',
      description: 'Requests are signed per Standard Webhooks with the returned secret; failed sends are retried with backoff.',
      request: { body: jsonBody(CreateStatusWebhook) },
      responses: { 201: jsonResponse('The endpoint, with its secret', StatusWebhook) },
    }),
    async (c) => c.json(await createStatusWebhook(db, c.get('appId'), c.req.valid('json'), deps.webhooks, keyActor(c)), 201),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listWebhooks',
      tags: ['webhooks'],
      summary: "The app's endpoints",
      responses: { 200: jsonResponse('The endpoints', listOf(StatusWebhook)) },
    }),
    async (c) => c.json({ data: await listStatusWebhooks(db, c.get('appId')) }, 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getWebhook',
      tags: ['webhooks'],
      summary: 'One endpoint',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The endpoint', StatusWebhook), ...errorResponses(404) },
    }),
    async (c) => c.json(await getStatusWebhook(db, c.get('appId'), c.req.valid('param').id), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{id}',
      operationId: 'deleteWebhook',
      tags: ['webhooks'],
      summary: 'Remove an endpoint and its delivery log',
      request: { params: IdParams },
      responses: { 204: { description: 'Removed' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteStatusWebhook(db, c.get('appId'), c.req.valid('param').id, keyActor(c));
      return c.body(null, 204);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}/deliveries',
      operationId: 'listWebhookEvents',
      tags: ['webhooks'],
      summary: "The endpoint's delivery log: each event, its attempts and outcome",
      request: { params: IdParams, query: StatusEventQuery },
      responses: { ...pageResponses(StatusEventPage, 'A page, newest first'), ...errorResponses(404) },
    }),
    async (c) => c.json(await listStatusEvents(db, c.get('appId'), c.req.valid('param').id, c.req.valid('query')), 200),
  );

  return app;
}
