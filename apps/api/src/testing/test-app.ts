import { createEventsQueue, createFanoutQueue, createRedis, createWorkflowsQueue, redisTarget, webhookAllowedHosts } from '@notify/core/platform';
import { createKey } from '@notify/core/access';
import { twilioStatusCallbackUrl } from '@notify/core/receipts';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { createApp, type AppDeps } from '../app.js';
import { InboxHub } from '../inbox-hub.js';
import { KeyCache } from '../middleware/api-key-auth.js';
import { checkDocumentedStatuses } from './documented-statuses.js';

export interface TestApp extends TestEnv {
  app: ReturnType<typeof createApp>;
  /** What the app was made from: spread it to make a variant (another Redis, say). */
  deps: AppDeps;
  /** An API key of the test app. */
  key: string;
  /** JSON request helper over app.request (no port), sending the test app's key unless `authorization` is given. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** The error body every failure answers with. */
export interface ErrorJson {
  error: { code: string; message: string; details?: { path: string; message: string }[]; request_id: string };
}

/** A response's JSON, typed as the schema the route documents. */
export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export const ADMIN = { user: 'admin', password: 'test-admin-password' };
export const adminHeader = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

/** The API wired to this test file's own schema and queue prefix, acting for the test app through its key. */
export async function createTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestEnv(overrides);
  const { key } = await createKey(t.db, t.appId, 'tests');
  const deps: AppDeps = {
    db: t.db,
    queues: t.queues,
    fanout: createFanoutQueue(t.redis, t.env.QUEUE_PREFIX),
    events: createEventsQueue(t.redis, t.env.QUEUE_PREFIX),
    workflows: createWorkflowsQueue(t.redis, t.env.QUEUE_PREFIX),
    redis: t.redis,
    log: t.log,
    retry: { attempts: t.env.DELIVERY_ATTEMPTS, baseDelayMs: t.env.RETRY_BASE_DELAY_MS },
    idempotencyTtlSeconds: t.env.IDEMPOTENCY_TTL_SECONDS,
    fanoutConfirmThreshold: t.env.FANOUT_CONFIRM_THRESHOLD,
    webhooks: { allowedHosts: webhookAllowedHosts(t.env) },
    hub: new InboxHub(createRedis(redisTarget(t.env), 'subscriber'), t.log, t.env.QUEUE_PREFIX, { perApp: t.env.INBOX_STREAMS_PER_APP, perUser: t.env.INBOX_STREAMS_PER_USER }),
    keys: new KeyCache(t.db, createRedis(redisTarget(t.env), 'subscriber'), t.log),
    queuePrefix: t.env.QUEUE_PREFIX,
    twilioReceipts: { authToken: t.env.TWILIO_AUTH_TOKEN, callbackUrl: twilioStatusCallbackUrl(t.env) },
    unsubscribeSecret: t.env.UNSUBSCRIBE_SECRET,
    security: { admin: ADMIN, rateLimitPerSecond: t.env.RATE_LIMIT_PER_SECOND, maxBodyBytes: t.env.MAX_BODY_BYTES },
  };
  const app = createApp(deps);
  // Every response a test provokes must be one its operation documents.
  const undocumented = checkDocumentedStatuses(app);
  return {
    ...t,
    app,
    deps,
    key,
    async close() {
      await deps.hub.close();
      deps.keys.close();
      await deps.fanout.close();
      await deps.events.close();
      await deps.workflows.close();
      await t.close();
      if (undocumented.length > 0) throw new Error(`Undocumented statuses:\n${undocumented.join('\n')}`);
    },
    call: (method, path, body, headers = {}) =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
  };
}
