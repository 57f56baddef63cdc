import type { Db } from '@notify/core/platform';
import { CreateWorkflowBody, PageQuery, Workflow, WorkflowBody, WorkflowKey, WorkflowList } from '@notify/core/schemas';
import { createWorkflow, getWorkflow, listWorkflows, updateWorkflow } from '@notify/core/workflows';
import { z } from 'zod';
import { keyActor } from '../audit-actor.js';
import { errorResponses, jsonBody, jsonResponse, pageResponses, pathParams, tenantRoute } from '../openapi.js';
import { newRouter } from '../router.js';

const KeyParams = pathParams({ key: WorkflowKey });
const VersionQuery = z.object({ version: z.coerce.number().int().min(1).optional().meta({ description: 'A past version; default the latest' }) });

const RULES =
  'Checked when written (422 with `details` naming `steps.N.field`): step ids unique, templates of this app, a branch looks only at an earlier send step and jumps only forward (to a later step or `end`), every step reachable from the first, 1 to 50 steps.';

/** Workflow definitions: ordered steps (send, delay, digest, branch), versioned like templates. */
export function workflowRoutes(deps: { db: Db }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createWorkflow',
      tags: ['workflows'],
      summary: 'Create a workflow (version 1)',
      description: RULES,
      request: { body: jsonBody(CreateWorkflowBody) },
      responses: { 201: jsonResponse('Created', Workflow), ...errorResponses(409) },
    }),
    async (c) => {
      const { key, ...body } = c.req.valid('json');
      return c.json(await createWorkflow(db, c.get('appId'), key, body, keyActor(c)), 201);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listWorkflows',
      tags: ['workflows'],
      summary: 'Workflows by key',
      request: { query: PageQuery },
      responses: pageResponses(WorkflowList),
    }),
    async (c) => c.json(await listWorkflows(db, c.get('appId'), c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{key}',
      operationId: 'getWorkflow',
      tags: ['workflows'],
      summary: 'A workflow at its latest version, or `?version=n`',
      request: { params: KeyParams, query: VersionQuery },
      responses: { 200: jsonResponse('The workflow', Workflow), ...errorResponses(404) },
    }),
    async (c) => {
      const { key } = c.req.valid('param');
      return c.json(await getWorkflow(db, c.get('appId'), key, c.req.valid('query').version), 200);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'put',
      path: '/{key}',
      operationId: 'replaceWorkflow',
      tags: ['workflows'],
      summary: 'Replace a workflow: adds a new version',
      description: `A full replacement, not a patch: the body is the whole new version. Runs already started keep the version they began with. ${RULES}`,
      request: { params: KeyParams, body: jsonBody(WorkflowBody) },
      responses: { 200: jsonResponse('The new version', Workflow), ...errorResponses(404) },
    }),
    async (c) => c.json(await updateWorkflow(db, c.get('appId'), c.req.valid('param').key, c.req.valid('json'), keyActor(c)), 200),
  );

  return app;
}
