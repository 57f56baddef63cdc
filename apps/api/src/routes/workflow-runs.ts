import type { Db, Redis, WorkflowStepJob } from '@notify/core/platform';
import type { Queue } from 'bullmq';
import { UserParams, WorkflowKey, WorkflowRun, WorkflowRunListQuery, WorkflowRunPage } from '@notify/core/schemas';
import { cancelRun, getRun, listRuns } from '@notify/core/workflows';
import { requireRedis } from '../middleware/require-redis.js';
import { errorResponses, IdParams, jsonResponse, pageResponses, pathParams, tenantRoute } from '../openapi.js';
import { newRouter } from '../router.js';
import { keyActor } from '../audit-actor.js';

/** /workflow-runs: one run, with its steps, and cancelling it. */
export function workflowRunRoutes(deps: { db: Db; redis: Redis; workflows: Queue<WorkflowStepJob> }) {
  const app = newRouter();
  app.use('/:id/cancel', requireRedis(deps.redis));
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getWorkflowRun',
      tags: ['workflows'],
      summary: 'A workflow run: its status, and each step with its state, times and the notifications it created',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The run', WorkflowRun), ...errorResponses(404) },
    }),
    async (c) => c.json(await getRun(deps.db, c.get('appId'), c.req.valid('param').id), 200),
  );
  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{id}/cancel',
      operationId: 'cancelWorkflowRun',
      tags: ['workflows'],
      summary: 'Cancel a run: the step it waits at and every later one never run',
      description:
        'The run becomes `cancelled` and its pending and waiting steps `cancelled`. A step being done right now finishes first; notifications already created are not recalled (cancel them with POST /notifications/{id}/cancel). 409 once the run has ended.',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The run after cancelling', WorkflowRun), ...errorResponses(404, 409) },
    }),
    async (c) => c.json(await cancelRun(deps, c.get('appId'), c.req.valid('param').id, keyActor(c)), 200),
  );
  return app;
}

/** GET /workflows/{key}/runs, mounted at /workflows. */
export function workflowRunsOfWorkflowRoutes(deps: { db: Db }) {
  const app = newRouter();
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{key}/runs',
      operationId: 'listWorkflowRuns',
      tags: ['workflows'],
      summary: "A workflow's runs, newest first",
      request: { params: pathParams({ key: WorkflowKey }), query: WorkflowRunListQuery },
      responses: { ...pageResponses(WorkflowRunPage), ...errorResponses(404) },
    }),
    async (c) => c.json(await listRuns(deps.db, c.get('appId'), { workflowKey: c.req.valid('param').key }, c.req.valid('query')), 200),
  );
  return app;
}

/** GET /users/{user_id}/workflow-runs, mounted at /users. */
export function userWorkflowRunRoutes(deps: { db: Db }) {
  const app = newRouter();
  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/workflow-runs',
      operationId: 'listUserWorkflowRuns',
      tags: ['workflows'],
      summary: "A user's workflow runs, newest first",
      request: { params: UserParams, query: WorkflowRunListQuery },
      responses: pageResponses(WorkflowRunPage),
    }),
    async (c) => c.json(await listRuns(deps.db, c.get('appId'), { userId: c.req.valid('param').user_id }, c.req.valid('query')), 200),
  );
  return app;
}
