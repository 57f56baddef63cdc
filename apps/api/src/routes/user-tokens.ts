import type { Db } from '@notify/core/platform';
import { mintUserToken } from '@notify/core/access';
import { MintUserTokenBody, UserParams, UserToken } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { jsonResponse, tenantRoute } from '../openapi.js';

/** POST /users/{user_id}/tokens: a short-lived token a front end uses for that user's inbox and preferences. */
export function userTokenRoutes(deps: { db: Db }) {
  const app = newRouter();
  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{user_id}/tokens',
      operationId: 'mintUserToken',
      tags: ['users'],
      summary: "Mint a user token for a browser or mobile app: it opens only this user's inbox and preferences",
      description:
        "A JWT (HS256) signed with the app's own secret, with `sub` (the user), `aud` `notify:user`, `app`, `iat`, `exp`, and the minting key's id as `kid`. Call it from your backend: it needs the API key. Refused (401) once expired, and once the key that minted it is revoked. The body is optional.",
      request: { params: UserParams, body: { required: false, content: { 'application/json': { schema: MintUserTokenBody } } } },
      responses: { 201: jsonResponse('The token', UserToken) },
    }),
    async (c) => {
      const { user_id } = c.req.valid('param');
      // No body: the defaults (the schema fills them in).
      const { expires_in } = c.req.header('content-type') ? c.req.valid('json') : MintUserTokenBody.parse({});
      return c.json(await mintUserToken(deps.db, { appId: c.get('appId'), keyId: c.get('keyId'), userId: user_id, expiresIn: expires_in }), 201);
    },
  );
  return app;
}
