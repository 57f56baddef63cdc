import { z } from 'zod';
import { CHANNELS, type Channel } from './channels.js';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');
const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
const rate = z.coerce.number().min(0).max(1);

/**
 * Every environment variable the service reads, with its default.
 * `.env.example` and the README's configuration table list the same names.
 */
export const Env = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.url().default('postgresql://postgres@127.0.0.1:5432/notify'),
  /** PostgreSQL schema for all tables; tests give each file its own. */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public'),
  DATABASE_POOL_SIZE: int(10),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix. Use a hash tag such as `{notify}` on Redis Cluster. */
  QUEUE_PREFIX: z.string().min(1).default('bull'),
  PORT: int(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Channels this worker process serves (comma-separated); the command line wins. */
  WORKER_CHANNELS: z.string().default(CHANNELS.join(',')),
  /** Delivery attempts in all (first try + retries). */
  DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(4),
  /** Exponential backoff base: retries wait base, 2*base, 4*base, ... */
  RETRY_BASE_DELAY_MS: int(2000),
  /** Longest Retry-After from a provider that is honoured; longer ones are capped to this. */
  RETRY_AFTER_MAX_MS: int(3_600_000),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /**
   * A worker's hold on a job; renewed every half of it while the job runs. A
   * worker that dies loses its jobs to another after at most this plus the
   * stalled interval.
   */
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30_000),
  /** How often workers look for jobs whose worker died (stalled jobs). */
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Times a job may stall (its worker died mid-send) before BullMQ fails it. */
  WORKER_MAX_STALLED_COUNT: int(2),
  /** How long a worker keeps retrying a database call that cannot connect before giving up the attempt. */
  WORKER_DB_RETRY_MS: int(60_000),
  /** How often a worker runs the outbox sweeper (one replica at a time does the work). */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** Unfinished deliveries untouched this long are checked against their queue. */
  SWEEP_GRACE_MS: int(30_000),
  /** Seconds to let in-flight work finish on SIGTERM before exiting anyway. */
  SHUTDOWN_GRACE_SECONDS: int(25),
  EMAIL_PROVIDERS: z.string().default('console'),
  SMS_PROVIDERS: z.string().default('console'),
  PUSH_PROVIDERS: z.string().default('console'),
  IN_APP_PROVIDERS: z.string().default('console'),
  WEBHOOK_PROVIDERS: z.string().default('console'),
  EMAIL_CONCURRENCY: int(20),
  SMS_CONCURRENCY: int(20),
  PUSH_CONCURRENCY: int(50),
  IN_APP_CONCURRENCY: int(100),
  WEBHOOK_CONCURRENCY: int(50),
  /** The `simulated` provider: probability that a send fails (0..1). */
  SIMULATED_FAILURE_RATE: rate.default(0),
  /** The `simulated` provider: fail the first N attempts of every delivery. */
  SIMULATED_FAIL_FIRST: int(0),
  /** The `simulated` provider: added latency per send, in milliseconds. */
  SIMULATED_LATENCY_MS: int(0),
  /** The `simulated` provider: make its failures permanent instead of retryable. */
  SIMULATED_PERMANENT: bool.default(false),
});
export type Env = z.infer<typeof Env>;

/** Parses the environment once; main.ts files call this and pass the result down. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

const CHANNEL_ENV = {
  email: 'EMAIL',
  sms: 'SMS',
  push: 'PUSH',
  in_app: 'IN_APP',
  webhook: 'WEBHOOK',
} as const satisfies Record<Channel, string>;

/** The ordered provider names configured for a channel, e.g. `EMAIL_PROVIDERS=smtp,console`. */
export function providerNames(env: Env, channel: Channel): string[] {
  return env[`${CHANNEL_ENV[channel]}_PROVIDERS`]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function concurrency(env: Env, channel: Channel): number {
  return Math.max(1, env[`${CHANNEL_ENV[channel]}_CONCURRENCY`]);
}
