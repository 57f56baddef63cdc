import type { Db, Redis } from '@notify/core/platform';
import { createKey, listKeys, revokeKey } from '@notify/core/access';
import { Timestamp } from '@notify/core/schemas';
import { z } from 'zod';
import { newRouter } from '../router.js';
import type { KeyCache } from '../middleware/api-key-auth.js';
import { errorResponses, IdParams, json, jsonResponse, listOf, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

const KeyInfo = z.object({ id: z.uuid(), name: z.string().nullable(), prefix: z.string(), created_at: Timestamp, revoked_at: Timestamp.nullable() }).meta({ id: 'ApiKey' });
const NewKey = z
  .object({ id: z.uuid(), name: z.string().nullable(), prefix: z.string(), key: z.string().meta({ description: 'Shown once: only its hash is stored' }), created_at: Timestamp })
  .meta({ id: 'NewApiKey' });

/** The calling app's API keys: rotate by creating a new one, then revoking the old. */
export function keyRoutes(deps: { db: Db; redis: Redis; keys: KeyCache }) {
  const app = newRouter();

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listKeys',
      tags: ['keys'],
      summary: "The app's API keys (never the keys themselves)",
      responses: { 200: jsonResponse('The keys', listOf(KeyInfo)) },
    }),
    async (c) => c.json({ data: await listKeys(deps.db, c.get('appId')) }, 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createKey',
      tags: ['keys'],
      summary: 'Create another key for this app',
      request: { body: { required: false, content: json(z.object({ name: z.string().max(100).optional() }).strict()) } },
      responses: { 201: jsonResponse('The key, shown once', NewKey) },
    }),
    async (c) => {
      const { app_id: _app, ...created } = await createKey(deps.db, c.get('appId'), c.req.valid('json').name ?? null, deps.redis, keyActor(c));
      return c.json(created, 201);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{id}',
      operationId: 'revokeKey',
      tags: ['keys'],
      summary: 'Revoke a key; it stops working at once on every API replica',
      request: { params: IdParams },
      responses: { 204: { description: 'Revoked' }, ...errorResponses(404, 409) },
    }),
    async (c) => {
      const hash = await revokeKey(deps.db, deps.redis, c.req.valid('param').id, c.get('appId'), keyActor(c));
      deps.keys.forget(hash);
      return c.body(null, 204);
    },
  );

  return app;
}
