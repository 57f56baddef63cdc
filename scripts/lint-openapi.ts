// `npm run lint:openapi`: builds the API with createApp, as main.ts does, asks
// it for /openapi.json, writes the answer to a temporary file and lints that
// with Redocly CLI (redocly.yaml: the recommended rules, every warning an
// error). Serving the document does no I/O, so the connections are made but
// never used: it runs with PostgreSQL and Redis down too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeDb, closeQueues, createDb, createEventsQueue, createFanoutQueue, createLogger, createQueues, createRedis, loadEnv } from '@notify/core/platform';
import { createApp } from '../apps/api/src/app.js';
import { InboxHub } from '../apps/api/src/inbox-hub.js';
import { KeyCache } from '../apps/api/src/middleware/api-key-auth.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = loadEnv();
const log = createLogger('silent', { service: 'lint-openapi' });
const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: 1 });
const redis = createRedis(env.REDIS_URL, 'producer');
const deps = {
  db,
  queues: createQueues(redis, env.QUEUE_PREFIX),
  fanout: createFanoutQueue(redis, env.QUEUE_PREFIX),
  events: createEventsQueue(redis, env.QUEUE_PREFIX),
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

const dir = mkdtempSync(path.join(tmpdir(), 'notify-openapi-'));
let status = 1;
try {
  const res = await createApp(deps).request('/openapi.json');
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
  const file = path.join(dir, 'openapi.json');
  // Pretty-printed, so each problem Redocly reports points at a readable line.
  writeFileSync(file, JSON.stringify(await res.json(), null, 2));
  const lint = spawnSync(path.join(root, 'node_modules/.bin/redocly'), ['lint', '--config', path.join(root, 'redocly.yaml'), file], {
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  status = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
  await deps.hub.close();
  deps.keys.close();
  await Promise.all([closeQueues(deps.queues), deps.fanout.close(), deps.events.close()]);
  await closeDb(db);
  redis.disconnect();
}
process.exit(status);
