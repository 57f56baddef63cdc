import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { KEY_PREFIX, KEY_REVOKED_CHANNEL, hashKey, type KeyIdentity } from '@notify/core/access';
import { createLogger, createRedis, type Db } from '@notify/core/platform';
import { waitFor } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { apiKeyAuth, KeyCache } from './api-key-auth.js';
import { AuthThrottle } from './auth-throttle.js';

// Redis is real (revocations arrive on pub/sub, the throttle counts there); the key table is a
// stub lookup, so the test sees each database lookup the cache lets through.
const url = inject('redisUrl');
const redis = createRedis(url, 'producer');
const log = createLogger('silent');
const valid = new Map<string, KeyIdentity>();
let lookups = 0;
const lookup = async (_db: Db, key: string) => {
  lookups++;
  await new Promise((r) => setTimeout(r, 20));
  return valid.get(key) ?? null;
};
const newKey = () => `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
const caches: KeyCache[] = [];

function app(opts: { throttle?: AuthThrottle } = {}) {
  const subscriber = createRedis(url, 'subscriber');
  // The lookup never touches the database handle.
  const keys = new KeyCache({} as Db, subscriber, log, lookup);
  caches.push(keys);
  const a = middlewareApp();
  a.use(apiKeyAuth(keys, opts));
  a.get('/whoami', (c) => c.json({ app_id: c.get('appId'), key_id: c.get('keyId') }));
  return { a, keys, subscriber };
}

beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(() => {
  for (const k of caches) k.close();
  redis.disconnect();
});

const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

describe('apiKeyAuth', () => {
  it('sets the app and key of a valid key, and asks the database once for it', async () => {
    const { a } = app();
    const key = newKey();
    valid.set(key, { appId: 'app-1', keyId: 'key-1' });
    const before = lookups;
    expect(await send(a, '/whoami', bearer(key))).toMatchObject({ status: 200, body: { app_id: 'app-1', key_id: 'key-1' } });
    expect((await send(a, '/whoami', bearer(key))).status).toBe(200);
    expect(lookups - before).toBe(1);
  });

  it.each([
    ['no Authorization', {}],
    ['a Basic header', { headers: { authorization: 'Basic abc' } }],
    ['an empty Bearer', { headers: { authorization: 'Bearer ' } }],
  ])('answers 401 with a Bearer challenge for %s', async (_, init) => {
    const res = await send(app().a, '/whoami', init);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toMatchObject({ error: { code: 'unauthorized', message: expect.stringMatching(/Authorization: Bearer/) } });
  });

  it('refuses an unknown key (401), remembering it so a repeat costs no lookup; a key without the prefix costs none', async () => {
    const { a } = app();
    const key = newKey();
    const before = lookups;
    for (let i = 0; i < 3; i++) expect((await send(a, '/whoami', bearer(key))).status).toBe(401);
    expect((await send(a, '/whoami', bearer('sk_other_format'))).status).toBe(401);
    expect(lookups - before).toBe(1);
  });

  it('shares one lookup between concurrent requests with one key', async () => {
    const { a } = app();
    const key = newKey();
    valid.set(key, { appId: 'app-2', keyId: 'key-2' });
    const before = lookups;
    const results = await Promise.all(Array.from({ length: 20 }, () => send(a, '/whoami', bearer(key))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(lookups - before).toBe(1);
  });

  it('drops a cached key when its revocation is announced on Redis', async () => {
    const { a, subscriber } = app();
    if (subscriber.status !== 'ready') await once(subscriber, 'ready');
    const key = newKey();
    valid.set(key, { appId: 'app-3', keyId: 'key-3' });
    expect((await send(a, '/whoami', bearer(key))).status).toBe(200);
    valid.delete(key);
    // Until the announcement the cache answers alone.
    expect((await send(a, '/whoami', bearer(key))).status).toBe(200);
    const heard = new Promise<void>((resolve) => subscriber.on('message', (ch: string, hash: string) => ch === KEY_REVOKED_CHANNEL && hash === hashKey(key) && resolve()));
    // Announced until this replica's subscription (still being set up) hears it; other processes may be subscribed too.
    for (const started = Date.now(); ; ) {
      await redis.publish(KEY_REVOKED_CHANNEL, hashKey(key));
      if (await Promise.race([heard.then(() => true), new Promise((r) => setTimeout(r, 20, false))])) break;
      expect(Date.now() - started).toBeLessThan(2000);
    }
    expect((await send(a, '/whoami', bearer(key))).status).toBe(401);
  });

  it('with a throttle: unknown keys count against the address (429 past it); a valid new key is refunded', async () => {
    const keyPrefix = `test-${randomBytes(6).toString('hex')}:auth`;
    const throttle = new AuthThrottle(redis, log, { maxFailures: 2, keyPrefix });
    const { a } = app({ throttle });
    const good = newKey();
    valid.set(good, { appId: 'app-4', keyId: 'key-4' });
    for (let i = 0; i < 5; i++) expect((await send(a, '/whoami', bearer(good))).status).toBe(200);
    // The refund of the good key's first lookup is not awaited by the request: let it land.
    await waitFor(async () => {
      const counts = await Promise.all((await redis.keys(`${keyPrefix}:*`)).map((k) => redis.get(k)));
      return counts.every((n) => n === null || Number(n) <= 0) ? true : undefined;
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(a, '/whoami', bearer(newKey()))).status);
    expect(statuses).toEqual([401, 401, 429]);
    // The cached good key still passes: it costs no attempt.
    expect((await send(a, '/whoami', bearer(good))).status).toBe(200);
    const refused = await send(a, '/whoami', bearer(newKey()));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
