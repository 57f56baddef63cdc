// The OpenAPI document exactly as the API serves it at /openapi.json, without a
// server: builds the API with createApp, as main.ts does, and asks it. Serving
// the document does no I/O, so the connections are made but never used: it
// works with PostgreSQL and Redis down too. Used by `npm run lint:openapi` and
// the client's type generation (packages/client).
import {
  closeDb,
  closeQueues,
  createDb,
  createEventsQueue,
  createFanoutQueue,
  createLogger,
  createQueues,
  createRedis,
  createWorkflowsQueue,
  loadEnv,
} from '@notify/core/platform';
import { createApp } from '../apps/api/src/app.js';
import { InboxHub } from '../apps/api/src/inbox-hub.js';
import { KeyCache } from '../apps/api/src/middleware/api-key-auth.js';

export async function servedOpenApiDocument(): Promise<unknown> {
  const env = loadEnv();
  const log = createLogger('silent', { service: 'openapi-document' });
  const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: 1 });
  const redis = createRedis(env.REDIS_URL, 'producer');
  const deps = {
    db,
    queues: createQueues(redis, env.QUEUE_PREFIX),
    fanout: createFanoutQueue(redis, env.QUEUE_PREFIX),
    events: createEventsQueue(redis, env.QUEUE_PREFIX),
    workflows: createWorkflowsQueue(redis, env.QUEUE_PREFIX),
    redis,
    log,
    retry: { attempts: env.DELIVERY_ATTEMPTS, baseDelayMs: env.RETRY_BASE_DELAY_MS },
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    webhooks: { allowedHosts: [] },
    hub: new InboxHub(createRedis(env.REDIS_URL, 'subscriber'), log),
    keys: new KeyCache(db, createRedis(env.REDIS_URL, 'subscriber'), log),
    queuePrefix: env.QUEUE_PREFIX,
    security: { admin: { user: '', password: '' }, rateLimitPerSecond: 1, maxBodyBytes: env.MAX_BODY_BYTES },
  };
  try {
    const res = await createApp(deps).request('/openapi.json');
    if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
    return await res.json();
  } finally {
    await deps.hub.close();
    deps.keys.close();
    await Promise.all([closeQueues(deps.queues), deps.fanout.close(), deps.events.close(), deps.workflows.close()]);
    await closeDb(db);
    redis.disconnect();
  }
}
