import type { Db } from '@notify/core/platform';
import { getCorsSettings, setCorsSettings } from '@notify/core/access';
import { CorsSettings } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { jsonBody, jsonResponse, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';
import type { KeyCache } from '../middleware/api-key-auth.js';
import type { CorsOrigins } from '../middleware/user-cors.js';

/** GET and PUT /app/cors: the browser origins allowed on the user-token routes. */
export function corsRoutes(deps: { db: Db; keys: KeyCache; corsOrigins: CorsOrigins }) {
  const app = newRouter();
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/cors',
      operationId: 'getCors',
      tags: ['users'],
      summary: 'The browser origins allowed to call the user-token routes',
      responses: { 200: jsonResponse('The settings', CorsSettings) },
    }),
    async (c) => c.json(await getCorsSettings(deps.db, c.get('appId')), 200),
  );
  app.openapi(
    tenantRoute({
      method: 'put',
      path: '/cors',
      operationId: 'putCors',
      tags: ['users'],
      summary: 'Set the browser origins allowed to call the user-token routes (replaces the list)',
      description:
        'Only the routes a user token opens (the inbox, its stream, preferences) answer CORS, and only to a request whose token is of this app; every other route answers none. Each origin exactly as a browser sends it: `https://app.example.com`, `http://localhost:3000` (no path, no wildcard). Takes effect at once on this replica, within a minute on the others.',
      request: { body: jsonBody(CorsSettings) },
      responses: { 200: jsonResponse('The settings', CorsSettings) },
    }),
    async (c) => {
      const appId = c.get('appId');
      const settings = await setCorsSettings(deps.db, appId, c.req.valid('json'), keyActor(c));
      deps.keys.forgetApp(appId);
      deps.corsOrigins.clear();
      return c.json(settings, 200);
    },
  );
  return app;
}
