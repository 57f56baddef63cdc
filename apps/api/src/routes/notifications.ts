import { createRoute } from '@hono/zod-openapi';
import {
  CreateNotificationBody,
  createNotification,
  getNotification,
  notFound,
  Notification,
  type NotificationDeps,
} from '@notify/core';
import { z } from 'zod';
import { newRouter } from '../context.js';
import { errorResponses, json } from '../openapi.js';

const IdParams = z.object({ id: z.string().max(100).meta({ param: { name: 'id', in: 'path' } }) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function notificationRoutes(deps: NotificationDeps) {
  const app = newRouter();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/',
      tags: ['notifications'],
      summary: 'Notify a user on one or more channels',
      request: { body: { required: true, content: json(CreateNotificationBody) } },
      responses: {
        202: { description: 'Accepted: stored, and one job queued per deliverable channel', content: json(Notification) },
        ...errorResponses(400, 415, 422, 503),
      },
    }),
    async (c) => {
      const created = await createNotification(deps, c.get('appId'), c.req.valid('json'));
      return c.json(created, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: ['notifications'],
      summary: 'A notification with its per-channel deliveries',
      request: { params: IdParams },
      responses: { 200: { description: 'The notification', content: json(Notification) }, ...errorResponses(404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!UUID.test(id)) throw notFound('Notification');
      return c.json(await getNotification(deps.db, c.get('appId'), id.toLowerCase()), 200);
    },
  );

  return app;
}

