import { z } from 'zod';
import { CHANNELS, type Channel } from './channels.js';
import { STREAM_LIMITS } from './limits.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
const rate = z.coerce.number().min(0).max(1);
const RATE_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** `10/s`, `600/m`, `5/200ms` -> { max, durationMs }; empty -> undefined. */
const rateLimit = z
  .string()
  .default('')
  .transform((value, ctx) => {
    if (value.trim() === '') return undefined;
    const m = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/.exec(value);
    if (!m || Number(m[1]) < 1) {
      ctx.addIssue({ code: 'custom', message: 'must look like 10/s, 600/m or 5/200ms' });
      return z.NEVER;
    }
    return { max: Number(m[1]), durationMs: (m[2] ? Number(m[2]) : 1) * RATE_UNITS[m[3] as keyof typeof RATE_UNITS] };
  });
/** Days to keep one kind of record; unset or empty: `RETENTION_DAYS`. */
const retentionDays = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    if (!/^\s*\d+\s*$/.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number of days (0 keeps forever)' });
      return z.NEVER;
    }
    return Number(value);
  });

/** A setting where empty (or blank) means unset, as the OTEL_* conventions read it. */
const unsetWhenEmpty = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v : undefined));

/** `host:port,host:port` (IPv6 as `[::1]:7000`) -> [{ host, port }]; empty -> []. */
const clusterNodes = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const nodes: { host: string; port: number }[] = [];
    for (const item of value.split(',').map((s) => s.trim())) {
      if (item === '' && value.trim() === '') break;
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65_535) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port; give seed nodes as host:port,host:port` });
        return z.NEVER;
      }
      nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
    }
    return nodes;
  });

/**
 * Every environment variable the service reads, with its default.
 * `.env.example` and the README's configuration table list the same names.
 */
export const Env = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.url().default('postgresql://postgres@127.0.0.1:5432/notify'),
  /** PostgreSQL schema for all tables; tests give each file its own. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public'),
  DATABASE_POOL_SIZE: int(10),
  /** Single-node Redis (credentials and `rediss://` TLS in the URL); ignored when REDIS_CLUSTER_NODES is set. */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** Redis Cluster seed nodes, `host:port,host:port` (the rest are discovered); set, every connection is a cluster client. */
  REDIS_CLUSTER_NODES: clusterNodes,
  /** Redis Cluster only: ACL user and password of every node (REDIS_URL carries its own). */
  REDIS_USERNAME: z.string().default(''),
  REDIS_PASSWORD: z.string().default(''),
  /** Redis Cluster only: TLS to every node, trusting the system's roots and, when given, the PEM file REDIS_TLS_CA. */
  REDIS_TLS: bool.default(false),
  REDIS_TLS_CA: z.string().default(''),
  /** The start of every Redis key of ours; each queue adds its own hash tag after it (`bull:{notify.email}:...`). */
  QUEUE_PREFIX: z
    .string()
    .min(1)
    .regex(/^[^{}]*$/, 'must not contain { or }: each queue gets its own hash tag after the prefix')
    .default('bull'),
  PORT: int(3000),
  HOST: z.string().default('0.0.0.0'),
  /** Basic auth for Bull Board, /metrics and the dashboard; empty locks them. */
  ADMIN_USER: z.string().default('admin'),
  ADMIN_PASSWORD: z.string().default(''),
  /** Requests per second per API key (Redis, shared by all API replicas). */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).default(1000),
  /** Failed authentications (API keys, admin Basic auth) per client address per minute before 429 (Redis, shared by all API replicas). */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  /**
   * Proxies of ours in front of the API that append to X-Forwarded-For. 0:
   * the client is the socket's address, the header is ignored; n: the client
   * is the n-th address from the right of the header.
   */
  TRUST_PROXY_HOPS: int(0),
  /** Largest request body accepted, in bytes (413 above, before parsing). */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 * 1024),
  /** Open inbox streams (SSE) per app, and per user of an app, across all API replicas; past either: 429. */
  INBOX_STREAMS_PER_APP: z.coerce.number().int().min(1).default(STREAM_LIMITS.perApp),
  INBOX_STREAMS_PER_USER: z.coerce.number().int().min(1).default(STREAM_LIMITS.perUser),
  /** Rendering budget of one request (all fields, locales and recipients together), in ms: past it, 422 template_too_expensive. */
  TEMPLATE_RENDER_BUDGET_MS: z.coerce.number().int().min(10).default(1000),
  /** Liquid allocations (characters and array elements made by filters, ranges...) one request's rendering may make. */
  TEMPLATE_RENDER_MEMORY: z.coerce.number().int().min(1000).default(50_000_000),
  /** Bytes one rendered template field may have, and one request may render in all: past either, 422 template_output_too_large. */
  TEMPLATE_MAX_FIELD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  TEMPLATE_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Render threads per process (API and worker), and how long a request waits for one before a 503. */
  TEMPLATE_RENDER_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  TEMPLATE_RENDER_QUEUE_MS: z.coerce.number().int().min(10).default(5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Tracing (OpenTelemetry, OTLP/HTTP): off unless `otlp` here or an OTLP
   * endpoint below is set; `none` turns it off whatever else is set.
   */
  OTEL_TRACES_EXPORTER: z
    .enum(['otlp', 'none', ''])
    .optional()
    .transform((v) => v || undefined),
  OTEL_SDK_DISABLED: bool.default(false),
  /** Read by the exporter itself (as are the other OTEL_EXPORTER_OTLP_* settings); here only to decide on or off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetWhenEmpty,
  /** Overrides the process's own name (`notify-api`, `notify-worker`). */
  OTEL_SERVICE_NAME: unsetWhenEmpty,
  /** Channels this worker process serves (comma-separated); the command line wins. */
  WORKER_CHANNELS: z.string().default(CHANNELS.join(',')),
  /**
   * A worker's own HTTP port (on HOST) for /health, /ready and /metrics; every
   * worker on one host needs its own (`npm start` counts up from it per
   * channel). 0 takes any free port and logs it (tests).
   */
  WORKER_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(3001),
  /** Delivery attempts in all (first try + retries). */
  DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(4),
  /** Exponential backoff base: retries wait base, 2*base, 4*base, ... */
  RETRY_BASE_DELAY_MS: int(2000),
  /** Longest Retry-After from a provider that is honoured; longer ones are capped to this. */
  RETRY_AFTER_MAX_MS: int(3_600_000),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /** A topic or bulk send to more recipients than this is refused unless its body confirms the count (`confirm_recipients`). */
  FANOUT_CONFIRM_THRESHOLD: z.coerce.number().int().min(0).default(10_000),
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
  /** Days a record is kept (0: forever); each kind may have its own, defaulting to this. See README "Retention". */
  RETENTION_DAYS: int(90),
  /** Notifications with their deliveries, attempts, replays and inbox items. */
  RETENTION_NOTIFICATION_DAYS: retentionDays,
  /** Status webhook events, counted from their last change (sent or given up). */
  RETENTION_STATUS_EVENT_DAYS: retentionDays,
  RETENTION_AUDIT_DAYS: retentionDays,
  /** How often a worker removes old records (one replica at a time), and how long one run may take before it yields to the next. */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(300_000),
  RETENTION_RUN_BUDGET_MS: z.coerce.number().int().min(100).default(5000),
  /** Rows per delete statement, and the least pause between two statements (so the load in between gets the database). */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  RETENTION_BATCH_PAUSE_MS: int(50),
  /** The most of a run's time its statements may take: after each, a rest long enough to keep to it (20: rest 4x the statement). */
  RETENTION_DUTY_PERCENT: z.coerce.number().int().min(1).max(100).default(20),
  /** Seconds to let in-flight work finish on SIGTERM before exiting anyway. */
  SHUTDOWN_GRACE_SECONDS: int(25),
  EMAIL_PROVIDERS: z.string().default('console'),
  SMS_PROVIDERS: z.string().default('console'),
  PUSH_PROVIDERS: z.string().default('console'),
  IN_APP_PROVIDERS: z.string().default('inbox'),
  WEBHOOK_PROVIDERS: z.string().default('console'),
  /** Jobs per period per channel queue across all its workers, e.g. `10/s`, `600/m`; empty: no limit. */
  EMAIL_RATE_LIMIT: rateLimit,
  SMS_RATE_LIMIT: rateLimit,
  PUSH_RATE_LIMIT: rateLimit,
  IN_APP_RATE_LIMIT: rateLimit,
  WEBHOOK_RATE_LIMIT: rateLimit,
  /** Consecutive failures that open a provider's circuit breaker. */
  BREAKER_FAILURE_THRESHOLD: z.coerce.number().int().min(1).default(5),
  /** How long an open breaker skips its provider before letting one trial send through. */
  BREAKER_COOLDOWN_MS: int(30_000),
  /** smtp provider: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...:465`. */
  SMTP_URL: z.string().default('smtp://127.0.0.1:1025'),
  EMAIL_FROM: z.string().default('Notifications <notifications@localhost>'),
  /** Subject of an email whose notification has none. */
  EMAIL_DEFAULT_SUBJECT: z.string().default('Notification'),
  /** twilio provider. */
  TWILIO_ACCOUNT_SID: z.string().default(''),
  TWILIO_AUTH_TOKEN: z.string().default(''),
  /** Sender: a phone number (+1...) or a Messaging Service SID (MG...). */
  TWILIO_FROM: z.string().default(''),
  /** Where the Twilio SDK sends requests; only changed to aim it at a test server. */
  TWILIO_API_BASE_URL: z.string().default(''),
  /**
   * The URL Twilio calls with status callbacks (sent as each message's
   * statusCallback, and the URL their signatures are checked against);
   * empty: PUBLIC_URL + /providers/twilio/status, none without PUBLIC_URL.
   */
  TWILIO_STATUS_CALLBACK_URL: z.string().default(''),
  /** The API's address as the outside world reaches it, e.g. `https://notify.example.com` (unsubscribe links, provider callbacks). */
  PUBLIC_URL: z.string().default(''),
  /** Signs unsubscribe links (at least 32 characters); empty: emails carry no List-Unsubscribe. Rotating it voids links already sent. */
  UNSUBSCRIBE_SECRET: z.union([z.literal(''), z.string().min(32)]).default(''),
  /** An address that takes unsubscribe requests by mail, e.g. `unsubscribe@example.com`; empty: the header has the HTTPS link only. */
  UNSUBSCRIBE_MAILTO: z.string().default(''),
  /** webpush provider: VAPID keys (`npx web-push generate-vapid-keys`) and contact. */
  VAPID_PUBLIC_KEY: z.string().default(''),
  VAPID_PRIVATE_KEY: z.string().default(''),
  VAPID_SUBJECT: z.string().default('mailto:notifications@localhost'),
  /** fcm provider: the service account JSON (contents), and the project it sends for. */
  FCM_CREDENTIALS: z.string().default(''),
  FCM_PROJECT_ID: z.string().default(''),
  /** FCM HTTP v1 endpoint; only changed to aim at a test server. */
  FCM_BASE_URL: z.string().default('https://fcm.googleapis.com'),
  /** webhook provider: time allowed for the receiver to answer. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Hosts exempt from the SSRF guard (comma-separated), e.g. a receiver on your own network. */
  WEBHOOK_ALLOWED_HOSTS: z.string().default(''),
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

export function rateLimitFor(env: Env, channel: Channel): { max: number; durationMs: number } | undefined {
  return env[`${CHANNEL_ENV[channel]}_RATE_LIMIT`];
}

/** The render pool's settings (templates/render-pool.ts). */
export function renderPoolOptions(env: Env) {
  return {
    timeMs: env.TEMPLATE_RENDER_BUDGET_MS,
    memory: env.TEMPLATE_RENDER_MEMORY,
    fieldBytes: env.TEMPLATE_MAX_FIELD_BYTES,
    totalBytes: env.TEMPLATE_MAX_OUTPUT_BYTES,
    threads: env.TEMPLATE_RENDER_THREADS,
    queueTimeoutMs: env.TEMPLATE_RENDER_QUEUE_MS,
  };
}

/** Days to keep each kind of record (0: forever), and the pace of the deleting (retention/). */
export function retentionSettings(env: Env) {
  return {
    days: {
      notifications: env.RETENTION_NOTIFICATION_DAYS ?? env.RETENTION_DAYS,
      statusEvents: env.RETENTION_STATUS_EVENT_DAYS ?? env.RETENTION_DAYS,
      auditEvents: env.RETENTION_AUDIT_DAYS ?? env.RETENTION_DAYS,
    },
    intervalMs: env.RETENTION_INTERVAL_MS,
    budgetMs: env.RETENTION_RUN_BUDGET_MS,
    batchSize: env.RETENTION_BATCH_SIZE,
    pauseMs: env.RETENTION_BATCH_PAUSE_MS,
    dutyPercent: env.RETENTION_DUTY_PERCENT,
  };
}
export type RetentionSettings = ReturnType<typeof retentionSettings>;

/** Hosts exempt from the webhook SSRF guard, lower-cased. */
export function webhookAllowedHosts(env: Env): Set<string> {
  return new Set(
    env.WEBHOOK_ALLOWED_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
}
