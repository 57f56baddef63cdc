// A worker process: serves the channels given on the command line or in
// WORKER_CHANNELS, and takes its turn at the outbox sweep.
import {
  closeDb,
  closeOnSignals,
  closeQueues,
  concurrency,
  connect,
  createSchedulesQueue,
  processBase,
  rateLimitFor,
  renderPoolOptions,
  retentionSettings,
} from '@notify/core/platform';
import { webhookProviderFromEnv, providerChainFor } from '@notify/core/channels';
import { closeRenderPool, configureRenderPool } from '@notify/core/content';
import { unsubscribeSettings } from '@notify/core/audience';
import { withWriter } from '@notify/core/notifications';
import { prepareWorkerStatements } from '@notify/core/deliveries';
import { DeliveryMetrics, startTracing, Telemetry } from '@notify/core/observability';
import { createChannelWorker, createEventsWorker, createFanoutWorker, createScheduleWorker, createWorkflowWorker } from './channel-worker.js';
import { parseChannels } from './channels-arg.js';
import { SendGates } from './processors/send-gates.js';
import { startMaintenance } from './maintenance.js';
import { serveWorkerHttp, workerHttpApp } from './http/worker-http.js';
import { WorkerMetrics } from './http/worker-metrics.js';
import { WorkerReadiness } from './http/worker-readiness.js';

/** PostgreSQL's SQLSTATE for a permission refused. */
const INSUFFICIENT_PRIVILEGE = '42501';

const { env, log } = processBase('worker');
const tracing = await startTracing(env, 'notify-worker', log);
const channels = parseChannels(process.argv.slice(2), env.WORKER_CHANNELS);
// Fan-outs render in worker threads under the same budget as an API request.
configureRenderPool(renderPoolOptions(env));
// The sweeper and fan-outs add jobs to any channel's queue, so the process has its own producers.
const { db, redis, queues, fanout: fanoutQueue, events: eventsQueue, workflows: workflowsQueue } = await connect({ env, log }, { redisRole: 'worker', readyTimeoutMs: 60_000 });
await prepareWorkerStatements(db.pool).catch((err: Error & { code?: string }) => {
  // Not allowed to make them: every claim would fail the same way. Any other failure (PostgreSQL not up yet): the first claim makes them.
  if (err.code !== INSUFFICIENT_PRIVILEGE) return log.warn({ err }, 'could not make the claim and outcome functions yet; the first batch will');
  log.fatal({ err }, `refusing to start: ${err.message}; the role needs CREATE on schema "${env.DATABASE_SCHEMA}" for the claim and outcome functions`);
  process.exit(1);
});
const retry = { attempts: env.DELIVERY_ATTEMPTS, baseDelayMs: env.RETRY_BASE_DELAY_MS };
// The maintenance sweep keeps the schedules' job schedulers in step with their rows.
const schedulesQueue = createSchedulesQueue(redis, env.QUEUE_PREFIX);

const chains = channels.map((channel) => providerChainFor({ env, pool: db.pool, redis, log }, channel));
const metrics = new WorkerMetrics(chains, { pool: db.pool, redis });
const telemetry = new Telemetry(db.pool, new DeliveryMetrics(redis, env.QUEUE_PREFIX), metrics);
// Listening before any job is taken: a port already in use stops the process with nothing in flight.
const readiness = new WorkerReadiness({ pool: db.pool, redis });
const http = await serveWorkerHttp(workerHttpApp({ readiness: () => readiness.failures(), metrics: metrics.registry, log }), {
  port: env.WORKER_HTTP_PORT,
  host: env.HOST,
  log,
});
telemetry.start(1000, () => {
  for (const chain of chains) for (const [provider, state] of Object.entries(chain.states())) telemetry.metrics?.breaker(chain.channel, provider, state);
});
const gates = new SendGates({ pool: db.pool, redis, prefix: env.QUEUE_PREFIX, log });
const workers = chains.map((chain) => {
  const channel = chain.channel;
  return createChannelWorker({
    channel,
    connection: redis,
    prefix: env.QUEUE_PREFIX,
    concurrency: concurrency(env, channel),
    pool: db.pool,
    chain,
    log,
    defaults: { emailSubject: env.EMAIL_DEFAULT_SUBJECT, unsubscribe: unsubscribeSettings(env) },
    telemetry,
    events: eventsQueue,
    gates,
    tracer: tracing?.tracer,
    rateLimit: rateLimitFor(env, channel),
    dbRetryMs: env.WORKER_DB_RETRY_MS,
    maxRetryAfterMs: env.RETRY_AFTER_MAX_MS,
    stalls: {
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: env.WORKER_MAX_STALLED_COUNT,
    },
  });
});
for (const [i, worker] of workers.entries()) worker.on('stalled', () => metrics.stalled(chains[i]!.channel));
// Every worker process also takes status webhook events and topic fan-outs.
const eventsWorker = createEventsWorker({ connection: redis, prefix: env.QUEUE_PREFIX, db, webhook: webhookProviderFromEnv(env), log });
const fanoutWorker = createFanoutWorker({
  connection: redis,
  prefix: env.QUEUE_PREFIX,
  deps: { db, queues, retry, log, fanout: fanoutQueue, events: eventsQueue, workflows: workflowsQueue, telemetry },
  log,
});
const scheduleWorker = createScheduleWorker({
  connection: redis,
  prefix: env.QUEUE_PREFIX,
  deps: withWriter({ db, queues, retry, log, fanout: fanoutQueue, events: eventsQueue, workflows: workflowsQueue, telemetry, idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS }),
  log,
});
const workflowWorker = createWorkflowWorker({
  connection: redis,
  prefix: env.QUEUE_PREFIX,
  deps: { db, queues, retry, log, events: eventsQueue, workflows: workflowsQueue, telemetry },
  log,
});
readiness.watch([...workers, eventsWorker, fanoutWorker, scheduleWorker, workflowWorker]);
const stopMaintenance = startMaintenance({
  pool: db.pool,
  redis,
  prefix: env.QUEUE_PREFIX,
  queues,
  fanout: fanoutQueue,
  events: eventsQueue,
  workflows: workflowsQueue,
  schedules: schedulesQueue,
  retry,
  log,
  intervalMs: env.SWEEP_INTERVAL_MS,
  graceMs: env.SWEEP_GRACE_MS,
  retention: retentionSettings(env),
});

closeOnSignals({
  log,
  graceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
  stopping: 'shutting down: finishing in-flight jobs',
  late: 'grace period over: stopping with jobs in flight (they will be retried as stalled)',
  onLate: () => Promise.all([...workers.map((w) => w.close(true)), fanoutWorker.close(true), eventsWorker.close(true), scheduleWorker.close(true), workflowWorker.close(true)]),
  closers: [
    // Not ready before anything closes; /health and /ready go on answering until the jobs are done.
    () => readiness.drain(),
    () => Promise.all([...workers.map((w) => w.close()), fanoutWorker.close(), eventsWorker.close(), scheduleWorker.close(), workflowWorker.close(), stopMaintenance()]),
    closeRenderPool,
    () => telemetry.stop(),
    // The last attempts' spans, still in the batch.
    () => tracing?.shutdown(),
    () => closeQueues(queues),
    () => fanoutQueue.close(),
    () => eventsQueue.close(),
    () => workflowsQueue.close(),
    () => schedulesQueue.close(),
    () => Promise.all(chains.map((c) => c.close())),
    () => http.close(),
    () => closeDb(db),
    () => redis.disconnect(),
  ],
});
// Only once SIGTERM has its handler: until then the signal's default action kills the process outright.
log.info({ channels }, 'worker started');
