// The start-up and shutdown every service process shares (the API and each worker):
// env -> logger -> connections -> readiness (or refuse to start), and on SIGTERM/SIGINT
// one grace timer and the process's closers run in the order given.
import type { Queue } from 'bullmq';
import { createDb, schemaProblem, type Db } from './db.js';
import { loadEnv, type Env } from './env.js';
import { createLogger, type Logger } from './logger.js';
import {
  createEventsQueue,
  createFanoutQueue,
  createQueues,
  createWorkflowsQueue,
  type ChannelQueues,
  type FanoutJob,
  type StatusEventJob,
  type WorkflowStepJob,
} from './queues.js';
import { assertRedisFit, createRedis, redisReady, redisTarget, type Redis } from './redis.js';

export interface ProcessBase {
  env: Env;
  log: Logger;
}

/** The environment, parsed once, and the process's logger (`service` in every line). */
export function processBase(service: string): ProcessBase {
  const env = loadEnv();
  return { env, log: createLogger(env.LOG_LEVEL, { service }) };
}

export interface Connections {
  db: Db;
  /** The process's main connection; the queues below share it. */
  redis: Redis;
  queues: ChannelQueues;
  fanout: Queue<FanoutJob>;
  events: Queue<StatusEventJob>;
  /** Workflow run steps. */
  workflows: Queue<WorkflowStepJob>;
}

export interface ConnectOptions {
  /** `producer` fails a command fast when Redis is away (the API answers 503); `worker` waits for it. */
  redisRole: 'producer' | 'worker';
  /** How long Redis may take to answer before the process refuses to start (redisReady's default: 10 s). */
  readyTimeoutMs?: number;
}

/**
 * PostgreSQL, Redis and the queues every process adds to. A process whose
 * Redis does not answer, evicts keys (BullMQ would lose jobs) or, as a
 * cluster, leaves slots unserved, or whose PostgreSQL connections resolve
 * names in another schema than DATABASE_SCHEMA, logs why and exits 1 before
 * it serves anything.
 */
export async function connect({ env, log }: ProcessBase, o: ConnectOptions): Promise<Connections> {
  const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: env.DATABASE_POOL_SIZE });
  let redis: Redis;
  try {
    redis = createRedis(redisTarget(env), o.redisRole);
    await redisReady(redis, o.readyTimeoutMs);
    await assertRedisFit(redis);
    // A PostgreSQL that does not answer yet is no reason to refuse: /ready reports it until it does.
    const problem = await schemaProblem(db.pool, env.DATABASE_SCHEMA).catch(() => null);
    if (problem) throw new Error(problem);
  } catch (err) {
    log.fatal({ err }, `refusing to start: ${(err as Error).message}`);
    process.exit(1);
  }
  return {
    db,
    redis,
    queues: createQueues(redis, env.QUEUE_PREFIX),
    fanout: createFanoutQueue(redis, env.QUEUE_PREFIX),
    events: createEventsQueue(redis, env.QUEUE_PREFIX),
    workflows: createWorkflowsQueue(redis, env.QUEUE_PREFIX),
  };
}

/** One thing to close at shutdown, awaited before the next. */
export type Closer = () => unknown;

export interface ShutdownPlan {
  log: Logger;
  /** SHUTDOWN_GRACE_SECONDS, in milliseconds. */
  graceMs: number;
  /** Logged with the signal when shutdown begins. */
  stopping: string;
  /** Logged when the grace period ends with closing unfinished. */
  late: string;
  /**
   * Called when the grace period ends with closing unfinished, after which
   * closing goes on (a worker force-closes: its jobs are retried as stalled).
   * Without it the process exits 1 there, whatever is still open.
   */
  onLate?: () => Promise<unknown>;
  /** Run in this order; then the process logs `stopped` and exits 0. */
  closers: Closer[];
}

/** Runs the plan once, on the first SIGTERM or SIGINT; a second signal changes nothing. */
export function closeOnSignals(plan: ShutdownPlan): void {
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    plan.log.info({ signal }, plan.stopping);
    let done = false;
    const late = setTimeout(() => {
      if (done) return;
      plan.log.warn(plan.late);
      if (!plan.onLate) process.exit(1);
      void plan.onLate();
    }, plan.graceMs);
    late.unref();
    for (const close of plan.closers) await close();
    done = true;
    clearTimeout(late);
    plan.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
