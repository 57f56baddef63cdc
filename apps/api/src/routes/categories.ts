import type { Db } from '@notify/core/platform';
import { listCategories, putCategory } from '@notify/core/content';
import { Category, CategoryKey, CategoryList, PutCategoryBody } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { jsonBody, jsonResponse, pathParams, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** Notification categories: preferences apply per category, and a required one cannot be opted out of. */
export function categoryRoutes(deps: { db: Db }) {
  const app = newRouter();

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listCategories',
      tags: ['categories'],
      summary: "The app's categories (built-in security, transactional, marketing, and its own)",
      responses: { 200: jsonResponse('The categories', CategoryList) },
    }),
    async (c) => c.json({ data: await listCategories(deps.db, c.get('appId')) }, 200),
  );

  app.openapi(
    tenantRoute({
      method: 'put',
      path: '/{key}',
      operationId: 'putCategory',
      tags: ['categories'],
      summary: 'Define a category or change one (e.g. make it required)',
      description: 'Creates the category or replaces it whole: an omitted `description` is cleared and an omitted `required` is false.',
      request: {
        params: pathParams({ key: CategoryKey }),
        body: jsonBody(PutCategoryBody),
      },
      responses: { 200: jsonResponse('The category', Category) },
    }),
    async (c) => c.json(await putCategory(deps.db, c.get('appId'), c.req.valid('param').key, c.req.valid('json'), keyActor(c)), 200),
  );

  return app;
}
