import type { Db, FanoutJob, Logger, Redis, WorkflowStepJob } from '@notify/core/platform';
import { DEFAULT_CONFIRM_THRESHOLD } from '@notify/core/notifications';
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
export function workflowTriggerRoutes(deps: {
  db: Db;
  redis: Redis;
  workflows: Queue<WorkflowStepJob>;
  fanout: Queue<FanoutJob>;
  log: Logger;
  idempotencyTtlSeconds: number;
  fanoutConfirmThreshold?: number | undefined;
}) {
  const threshold = deps.fanoutConfirmThreshold ?? DEFAULT_CONFIRM_THRESHOLD;
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
        "One run per user, each executing the workflow's current version step by step. For `user_id` or up to 1,000 `user_ids`, the runs are stored, with all their steps, before the answer (`created`, listing them). For a `topic`, however many subscribers, the trigger is stored and answered `creating` with no runs: a fan-out job creates one run per subscriber in the background, a chunk at a time, each run carrying the answer's id as `trigger_id` (GET /workflows/{key}/runs lists them); over FANOUT_CONFIRM_THRESHOLD subscribers it needs `confirm_recipients`, as topic sends do. Runs survive restarts. Follow one with GET /workflow-runs/{id}.",
      request: { params: KeyParams, headers: TriggerHeaders, body: jsonBody(TriggerWorkflowBody) },
      responses: {
        202: jsonResponse('Accepted: the runs started, one per user, or a topic fan-out under way (a replay carries `Idempotency-Replay: true`)', WorkflowTrigger),
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
        audience: { confirm_recipients: body.confirm_recipients, threshold },
      });
      if (result.replayed) c.header('Idempotency-Replay', 'true');
      return c.json(result.response, 202);
    },
  );
  return app;
}
