import type { Db, Logger, Redis, WorkflowStepJob } from '@notify/core/platform';
import type { Queue } from 'bullmq';
import { IdempotencyKey, TriggerWorkflowBody, WorkflowKey, WorkflowTrigger } from '@notify/core/schemas';
import { triggerWorkflow } from '@notify/core/workflows';
import { z } from 'zod';
import { requireRedis } from '../middleware/require-redis.js';
import { errorResponses, jsonBody, jsonResponse, pathParams, tenantRoute } from '../openapi.js';
import { newRouter } from '../router.js';

const KeyParams = pathParams({ key: WorkflowKey });

const TriggerHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().meta({
    description:
      'As for POST /notifications: the same key and body within 24 h answer the first response (the same run ids) with `Idempotency-Replay: true` and start nothing; the same key with another body is refused (422 `idempotency_key_reused`); while the first request is in flight, 409 with Retry-After. Keys of triggers are their own scope',
  }),
});

/** POST /workflows/{key}/trigger: one run of the workflow's current version per user. */
export function workflowTriggerRoutes(deps: { db: Db; redis: Redis; workflows: Queue<WorkflowStepJob>; log: Logger; idempotencyTtlSeconds: number }) {
  const app = newRouter();
  app.use('/:key/trigger', requireRedis(deps.redis));
  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{key}/trigger',
      operationId: 'triggerWorkflow',
      tags: ['workflows'],
      summary: 'Start a run of a workflow for a user, many users or a topic',
      description:
        "One run per user (`user_id`, up to 1,000 `user_ids`, or a topic's subscribers, at most 1,000), each executing the workflow's current version step by step; runs are stored, with all their steps, before the answer, and survive restarts. Follow one with GET /workflow-runs/{id}.",
      request: { params: KeyParams, headers: TriggerHeaders, body: jsonBody(TriggerWorkflowBody) },
      responses: {
        202: jsonResponse('Accepted: the runs started, one per user (a replay carries `Idempotency-Replay: true`)', WorkflowTrigger),
        ...errorResponses(404, 409),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await triggerWorkflow({ ...deps, requestId: c.get('requestId') }, c.get('appId'), c.req.valid('param').key, {
        userIds: body.user_id === undefined ? body.user_ids : [body.user_id],
        topic: body.topic,
        data: body.data,
        digestKey: body.digest_key,
        idempotencyKey: c.req.valid('header')['idempotency-key'],
      });
      if (result.replayed) c.header('Idempotency-Replay', 'true');
      return c.json(result.response, 202);
    },
  );
  return app;
}
