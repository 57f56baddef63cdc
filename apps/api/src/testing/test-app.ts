import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { createFanoutQueue, createRedis, webhookAllowedHosts, type FanoutJob } from '@notify/core';
import type { Queue } from 'bullmq';
import { InboxHub } from '../inbox-hub.js';
import { createApp } from '../app.js';

export interface TestApp extends TestEnv {
  app: ReturnType<typeof createApp>;
  hub: InboxHub;
  fanout: Queue<FanoutJob>;
  /** JSON request helper over app.request (no port). */
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

/** The API wired to this test file's own schema and queue prefix, acting for the test app. */
export async function createTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const t = await createTestEnv(overrides);
  await t.db.prisma.app.upsert({ where: { id: 'default' }, create: { id: 'default', name: 'default' }, update: {} });
  const hub = new InboxHub(createRedis(t.env.REDIS_URL, 'worker'), t.log);
  const fanout = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
  const app = createApp({
    db: t.db,
    queues: t.queues,
    fanout,
    redis: t.redis,
    log: t.log,
    retry: { attempts: t.env.DELIVERY_ATTEMPTS, baseDelayMs: t.env.RETRY_BASE_DELAY_MS },
    idempotencyTtlSeconds: t.env.IDEMPOTENCY_TTL_SECONDS,
    webhooks: { allowedHosts: webhookAllowedHosts(t.env) },
    hub,
  });
  return {
    ...t,
    hub,
    fanout,
    async close() {
      await hub.close();
      await fanout.close();
      await t.close();
    },
    app,
    call: (method, path, body, headers = {}) =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
  };
}
