import type { Db } from '@notify/core/platform';
import { listPauses, setPaused } from '@notify/core/content';
import { CategoryKey, Pause, PauseList, TemplateKey } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { errorResponses, jsonResponse, pathParams, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

const HOLDS = 'Its deliveries are held, neither sent nor lost, and all go out within seconds of the resume.';

/** POST /templates/{key}/pause and /resume, the same for categories: mounted under /templates and /categories. */
export function keyedPauseRoutes(deps: { db: Db }, kind: 'template' | 'category') {
  const app = newRouter();
  const Key = kind === 'template' ? TemplateKey : CategoryKey;
  const name = kind === 'template' ? 'Template' : 'Category';
  for (const paused of [true, false]) {
    const verb = paused ? 'pause' : 'resume';
    app.openapi(
      tenantRoute({
        method: 'post',
        path: `/{key}/${verb}`,
        operationId: `${verb}${name}`,
        tags: [kind === 'template' ? 'templates' : 'categories'],
        summary: paused ? `Pause a ${kind}: hold its deliveries until it is resumed` : `Resume a paused ${kind}`,
        description: `${HOLDS} Idempotent.`,
        request: { params: pathParams({ key: Key }) },
        responses: { 200: jsonResponse(`The ${kind}'s pause state`, Pause), ...errorResponses(404) },
      }),
      async (c) => c.json(await setPaused(deps.db, c.get('appId'), kind, c.req.valid('param').key, paused, keyActor(c)), 200),
    );
  }
  return app;
}

/** The whole app: POST /app/pause, POST /app/resume, and GET /app/pauses listing what is paused. */
export function appPauseRoutes(deps: { db: Db }) {
  const app = newRouter();
  for (const paused of [true, false]) {
    const verb = paused ? 'pause' : 'resume';
    app.openapi(
      tenantRoute({
        method: 'post',
        path: `/${verb}`,
        operationId: `${verb}App`,
        tags: ['pauses'],
        summary: paused ? "Pause the API key's app: hold all its deliveries until it is resumed" : 'Resume the app',
        description: `${HOLDS} Template and category pauses are kept apart: resuming the app does not resume them. Idempotent.`,
        responses: { 200: jsonResponse("The app's pause state", Pause) },
      }),
      async (c) => c.json(await setPaused(deps.db, c.get('appId'), 'app', null, paused, keyActor(c)), 200),
    );
  }
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/pauses',
      operationId: 'listPauses',
      tags: ['pauses'],
      summary: 'What is paused in the app: itself, templates, categories',
      responses: { 200: jsonResponse('The pauses in effect', PauseList) },
    }),
    async (c) => c.json({ data: await listPauses(deps.db, c.get('appId')) }, 200),
  );
  return app;
}
