// The API process: env -> connections -> app -> serve; graceful close on SIGTERM.
import { serve } from '@hono/node-server';
import { closeDb, closeOnSignals, closeQueues, connect, createRedis, processBase, redisTarget, renderPoolOptions, webhookAllowedHosts } from '@notify/core/platform';
import { closeRenderPool, configureRenderPool } from '@notify/core/content';
import { startTracing, Telemetry } from '@notify/core/observability';
import { twilioStatusCallbackUrl } from '@notify/core/receipts';
import { createApp } from './app.js';
import { InboxHub } from './inbox-hub.js';
import { KeyCache } from './middleware/api-key-auth.js';

const { env, log } = processBase('api');
const tracing = await startTracing(env, 'notify-api', log);
// Templates render in worker threads under one budget per request, off this event loop.
configureRenderPool(renderPoolOptions(env));
const { db, redis, queues, fanout, events, workflows } = await connect({ env, log }, { redisRole: 'producer' });

const telemetry = new Telemetry(db.pool);
telemetry.start();
const hub = new InboxHub(createRedis(redisTarget(env), 'subscriber'), log, env.QUEUE_PREFIX, { perApp: env.INBOX_STREAMS_PER_APP, perUser: env.INBOX_STREAMS_PER_USER });
const keys = new KeyCache(db, createRedis(redisTarget(env), 'subscriber'), log);
const app = createApp({
  db,
  queues,
  fanout,
  events,
  workflows,
  redis,
  log,
  retry: { attempts: env.DELIVERY_ATTEMPTS, baseDelayMs: env.RETRY_BASE_DELAY_MS },
  idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
  fanoutConfirmThreshold: env.FANOUT_CONFIRM_THRESHOLD,
  webhooks: { allowedHosts: webhookAllowedHosts(env) },
  hub,
  keys,
  telemetry,
  tracer: tracing?.tracer,
  queuePrefix: env.QUEUE_PREFIX,
  twilioReceipts: { authToken: env.TWILIO_AUTH_TOKEN, callbackUrl: twilioStatusCallbackUrl(env) },
  unsubscribeSecret: env.UNSUBSCRIBE_SECRET,
  security: {
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD },
    rateLimitPerSecond: env.RATE_LIMIT_PER_SECOND,
    maxBodyBytes: env.MAX_BODY_BYTES,
    authFailuresPerMinute: env.AUTH_FAILURES_PER_MINUTE,
    trustedProxyHops: env.TRUST_PROXY_HOPS,
  },
});
const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => log.info({ port: info.port }, 'api listening'));

closeOnSignals({
  log,
  graceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
  stopping: 'shutting down',
  late: 'grace period over: exiting with requests in flight',
  closers: [
    async () => {
      // The server stops taking requests at once, but has closed only when its last response is sent:
      // the inbox's live streams end first, or they would hold it open for the whole grace period.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await hub.close();
      keys.close();
      await closed;
    },
    closeRenderPool,
    () => telemetry.stop(),
    // The last requests' spans, still in the batch.
    () => tracing?.shutdown(),
    () => closeQueues(queues),
    () => fanout.close(),
    () => events.close(),
    () => workflows.close(),
    () => closeDb(db),
    () => redis.disconnect(),
  ],
});
