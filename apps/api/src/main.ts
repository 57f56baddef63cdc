// The API process: env -> connections -> app -> serve; graceful close on SIGTERM.
import { serve } from '@hono/node-server';
import {
  closeDb,
  closeQueues,
  renderPoolOptions,
  createDb,
  createEventsQueue,
  createFanoutQueue,
  createLogger,
  createQueues,
  createRedis,
  loadEnv,
  redisReady,
  assertNoEviction,
  webhookAllowedHosts,
} from '@notify/core/platform';
import { closeRenderPool, configureRenderPool } from '@notify/core/content';
import { Telemetry } from '@notify/core/observability';
import { createApp } from './app.js';
import { InboxHub } from './inbox-hub.js';
import { KeyCache } from './middleware/api-key-auth.js';

const env = loadEnv();
const log = createLogger(env.LOG_LEVEL, { service: 'api' });
// Templates render in worker threads under one budget per request, off this event loop.
configureRenderPool(renderPoolOptions(env));
const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: env.DATABASE_POOL_SIZE });
const redis = createRedis(env.REDIS_URL, 'producer');
const queues = createQueues(redis, env.QUEUE_PREFIX);
const fanout = createFanoutQueue(redis, env.QUEUE_PREFIX);
const events = createEventsQueue(redis, env.QUEUE_PREFIX);

try {
  await redisReady(redis);
  await assertNoEviction(redis);
} catch (err) {
  log.fatal({ err }, `refusing to start: ${(err as Error).message}`);
  process.exit(1);
}

const telemetry = new Telemetry(db.pool);
telemetry.start();
const hub = new InboxHub(createRedis(env.REDIS_URL, 'subscriber'), log, { perApp: env.INBOX_STREAMS_PER_APP, perUser: env.INBOX_STREAMS_PER_USER });
const keys = new KeyCache(db, createRedis(env.REDIS_URL, 'subscriber'), log);
const app = createApp({
  db,
  queues,
  fanout,
  events,
  redis,
  log,
  retry: { attempts: env.DELIVERY_ATTEMPTS, baseDelayMs: env.RETRY_BASE_DELAY_MS },
  idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
  webhooks: { allowedHosts: webhookAllowedHosts(env) },
  hub,
  keys,
  telemetry,
  queuePrefix: env.QUEUE_PREFIX,
  security: {
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD },
    rateLimitPerSecond: env.RATE_LIMIT_PER_SECOND,
    maxBodyBytes: env.MAX_BODY_BYTES,
    authFailuresPerMinute: env.AUTH_FAILURES_PER_MINUTE,
    trustedProxyHops: env.TRUST_PROXY_HOPS,
  },
});
const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) =>
  log.info({ port: info.port }, 'api listening'),
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    log.warn('grace period over: exiting with requests in flight');
    process.exit(1);
  }, env.SHUTDOWN_GRACE_SECONDS * 1000);
  force.unref();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await hub.close();
  keys.close();
  await closed;
  await closeRenderPool();
  await telemetry.stop();
  await closeQueues(queues);
  await fanout.close();
  await events.close();
  await closeDb(db);
  redis.disconnect();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
