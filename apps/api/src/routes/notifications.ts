import { AppError, isUuid, notFound, type Redis } from '@notify/core/platform';
import {
  cancelNotification,
  createNotification,
  getNotification,
  createBulk,
  createTopicNotification,
  DEFAULT_CONFIRM_THRESHOLD,
  dryRunBulk,
  dryRunTopic,
  requestHash,
  toOneUser,
  type NotificationDeps,
  type NotificationWriter,
} from '@notify/core/notifications';
import { CreateNotificationBody, Batch, BulkBody, DryRun, IdempotencyKey, Notification } from '@notify/core/schemas';
import { z } from 'zod';
import { ATTR } from '@notify/core/observability';
import { newRouter } from '../router.js';
import { requireRedis } from '../middleware/require-redis.js';
import { errorResponses, IdParams, json, jsonBody, jsonResponse, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

const CreateHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().meta({
    description:
      'Makes the request safe to retry: the same key and body within 24 h answer the first response (the same notification or batch id) with `Idempotency-Replay: true`; the same key with another body is refused (422 `idempotency_key_reused`); while the first request is still in flight, 409 with Retry-After',
  }),
});

/** The request's Idempotency-Key: the header, or the body's idempotency_key (they must agree). */
function keyOf(headerKey: string | undefined, bodyKey: string | undefined): string | undefined {
  if (headerKey && bodyKey && headerKey !== bodyKey) {
    throw new AppError('validation_failed', 'The Idempotency-Key header and idempotency_key differ', [
      { path: 'idempotency_key', message: 'must match the Idempotency-Key header' },
    ]);
  }
  return headerKey ?? bodyKey;
}

const idempotency = (key: string | undefined, body: unknown) => (key ? { key, requestHash: requestHash(body) } : undefined);

function notificationId(id: string): string {
  if (!isUuid(id)) throw notFound('Notification');
  return id.toLowerCase();
}

export function notificationRoutes(deps: NotificationDeps & { redis: Redis; writer: NotificationWriter; fanoutConfirmThreshold?: number }) {
  const app = newRouter();
  const threshold = deps.fanoutConfirmThreshold ?? DEFAULT_CONFIRM_THRESHOLD;
  app.use('/', requireRedis(deps.redis));
  app.use('/bulk', requireRedis(deps.redis));
  app.use('/:id/cancel', requireRedis(deps.redis));

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createNotification',
      tags: ['notifications'],
      summary: 'Notify a user, or every subscriber of a topic',
      request: { headers: CreateHeaders, body: jsonBody(CreateNotificationBody) },
      responses: {
        202: {
          description:
            'Accepted: stored, and one job queued per deliverable channel (a replay of an idempotent request carries `Idempotency-Replay: true`). For a topic, the batch that fans out to its subscribers.',
          content: json(z.union([Notification, Batch])),
        },
        200: jsonResponse('A dry run of a topic send (`dry_run: true`): what it would create; nothing is written', DryRun),
        ...errorResponses(404, 409),
      },
    }),
    async (c) => {
      const { idempotency_key: bodyKey, ...body } = c.req.valid('json');
      const key = idempotency(keyOf(c.req.valid('header')['idempotency-key'], bodyKey), body);
      if (body.topic !== undefined) {
        const { topic, dry_run, confirm_recipients, ...input } = body;
        // A dry run writes nothing, so it neither claims nor replays the key.
        if (dry_run) return c.json(await dryRunTopic({ ...deps, requestId: c.get('requestId') }, c.get('appId'), topic, input), 200);
        const result = await createTopicNotification({ ...deps, requestId: c.get('requestId') }, c.get('appId'), topic, input, key, { confirm_recipients, threshold });
        if (result.replayed) c.header('Idempotency-Replay', 'true');
        return c.json(result.response, 202);
      }
      const result = await createNotification({ ...deps, requestId: c.get('requestId'), traceparent: c.get('traceparent') }, c.get('appId'), toOneUser(body), key);
      c.get('span')?.setAttribute(ATTR.notificationId, result.notification.id);
      if (result.replayed) c.header('Idempotency-Replay', 'true');
      return c.json(result.notification, 202);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/bulk',
      operationId: 'createBulkNotifications',
      tags: ['notifications'],
      summary: 'Notify up to 1,000 users in one request',
      description:
        'One notification per recipient, each rendered with the shared `data` merged with its own. Stored in one transaction; answers the batch, whose progress GET /batches/{id} shows. With an Idempotency-Key, retries of one request make one batch.',
      request: { headers: CreateHeaders, body: jsonBody(BulkBody) },
      responses: {
        202: jsonResponse('The batch (a replay of an idempotent request answers the first response, with `Idempotency-Replay: true`)', Batch),
        200: jsonResponse('A dry run (`dry_run: true`): what the send would create; nothing is written', DryRun),
        ...errorResponses(404, 409),
      },
    }),
    async (c) => {
      const { dry_run, confirm_recipients, ...body } = c.req.valid('json');
      if (dry_run) return c.json(await dryRunBulk({ ...deps, requestId: c.get('requestId') }, c.get('appId'), body), 200);
      const key = idempotency(c.req.valid('header')['idempotency-key'], body);
      const result = await createBulk({ ...deps, requestId: c.get('requestId'), traceparent: c.get('traceparent') }, c.get('appId'), body, key, { confirm_recipients, threshold });
      c.get('span')?.setAttribute(ATTR.batchId, result.response.id);
      if (result.replayed) c.header('Idempotency-Replay', 'true');
      return c.json(result.response, 202);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getNotification',
      tags: ['notifications'],
      summary: 'A notification with its per-channel deliveries',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The notification', Notification), ...errorResponses(404) },
    }),
    async (c) => c.json(await getNotification(deps.db, c.get('appId'), notificationId(c.req.valid('param').id)), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{id}/cancel',
      operationId: 'cancelNotification',
      tags: ['notifications'],
      summary: 'Cancel the deliveries not sent yet',
      description: 'Queued and retrying deliveries become `cancelled` and their jobs are removed; one being sent right now finishes. 409 when nothing was left to cancel.',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The notification after cancelling', Notification), ...errorResponses(404, 409) },
    }),
    async (c) => {
      const notification = await cancelNotification(deps, c.get('appId'), notificationId(c.req.valid('param').id), keyActor(c));
      return c.json(notification, 200);
    },
  );

  return app;
}
