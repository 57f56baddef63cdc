import { serve } from '@hono/node-server';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRedis, newId, redisReady, type Db, type Lookup } from '@notify/core/platform';
import { finishDelivery } from '@notify/core/deliveries';
import { createWebhookProvider, ProviderError } from '@notify/core/channels';
import { createKey, generateKey, hashKey, KEY_REVOKED_CHANNEL, lookupKey, type KeyIdentity } from '@notify/core/access';
import type { Notification } from '@notify/core/schemas';
import { EMBEDDED_LOOPBACK_FORMS, waitFor } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../app.js';
import { KeyCache, MAX_UNKNOWN_KEYS } from '../middleware/api-key-auth.js';
import { ADMIN, adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
const closers: (() => unknown)[] = [];
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await t?.close();
});

/**
 * A subscriber that is already connected: a KeyCache empties itself when its
 * subscriber (re)connects, which would otherwise blur what a test counts.
 */
async function readySubscriber() {
  const sub = createRedis(t.env.REDIS_URL, 'subscriber');
  await redisReady(sub);
  return sub;
}

/** A KeyCache over the real database that counts its lookups (each held `delayMs` first, so requests overlap). */
async function countingKeys(delayMs = 0): Promise<{ keys: KeyCache; lookups: () => number }> {
  let n = 0;
  const keys = new KeyCache(t.db, await readySubscriber(), t.log, async (db: Db, key: string): Promise<KeyIdentity | null> => {
    n += 1;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return lookupKey(db, key);
  });
  closers.push(() => keys.close());
  return { keys, lookups: () => n };
}

/** A fresh app (its own failure budgets, under a fresh Redis prefix) on the test's database. */
function variant(overrides: Partial<AppDeps> = {}, security: Partial<AppDeps['security']> = {}) {
  return createApp({ ...t.deps, queuePrefix: `${t.env.QUEUE_PREFIX}-${randomUUID()}`, ...overrides, security: { ...t.deps.security, ...security } });
}

/** Serves `app` on the given loopback address; its URL. */
async function listen(app: ReturnType<typeof createApp>, hostname: '127.0.0.1' | '::1'): Promise<string> {
  const server = serve({ fetch: app.fetch, port: 0, hostname }) as Server;
  await once(server, 'listening');
  closers.push(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as AddressInfo;
  return hostname === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`${ADMIN.user}:${password}`).toString('base64')}` });

describe('failed authentication, throttled per client address', () => {
  it('300 random keys cost at most 20 database lookups, then 429; another address and cached keys still work', async () => {
    const { keys, lookups } = await countingKeys();
    const app = variant({ keys });
    const [v4, v6] = await Promise.all([listen(app, '127.0.0.1'), listen(app, '::1')]);
    // A tenant behind the attacker's address, whose key this replica has cached.
    expect((await fetch(`${v4}/categories`, { headers: bearer(t.key) })).status).toBe(200);
    const before = lookups();

    const answers = await Promise.all(
      Array.from({ length: 300 }, () =>
        fetch(`${v4}/categories`, { headers: bearer(generateKey()) }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          body: await json<ErrorJson>(r),
        })),
      ),
    );
    expect(lookups() - before).toBeLessThanOrEqual(20);
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(20);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(280);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);

    // Later guesses reach neither the database nor (this replica already knows) Redis; a spoofed X-Forwarded-For changes nothing.
    const spoofed = await fetch(`${v4}/categories`, { headers: { ...bearer(generateKey()), 'x-forwarded-for': '198.51.100.7' } });
    expect(spoofed.status).toBe(429);
    expect(lookups() - before).toBeLessThanOrEqual(20);

    // The cached tenant key keeps working from the same address; a key it has never seen waits out the window.
    expect((await fetch(`${v4}/categories`, { headers: bearer(t.key) })).status).toBe(200);
    const fresh = (await createKey(t.db, t.appId, 'fresh')).key;
    expect((await fetch(`${v4}/categories`, { headers: bearer(fresh) })).status).toBe(429);
    // From another address the same valid key works at once.
    expect((await fetch(`${v6}/categories`, { headers: bearer(fresh) })).status).toBe(200);
  });

  it("a client's first burst with one valid key, unknown to this replica, is one lookup and one attempt, not fifty 429s", async () => {
    // The lookup takes 300 ms, so all fifty arrive while the first is still asking.
    const { keys, lookups } = await countingKeys(300);
    const app = variant({ keys });
    const url = await listen(app, '127.0.0.1');
    const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${url}/categories`, { headers: bearer(t.key) }).then((r) => r.status)));
    expect(statuses).toEqual(Array(50).fill(200));
    expect(lookups()).toBe(1);
    // The burst used none of the address's failure budget: 20 wrong keys still answer 401 before the 429.
    for (let i = 0; i < 20; i++) expect((await fetch(`${url}/categories`, { headers: bearer(generateKey()) })).status).toBe(401);
    expect((await fetch(`${url}/categories`, { headers: bearer(generateKey()) })).status).toBe(429);
  });

  it('shares the count between replicas through Redis', async () => {
    const prefix = `${t.env.QUEUE_PREFIX}-${randomUUID()}`;
    const a = variant({ queuePrefix: prefix });
    const b = variant({ queuePrefix: prefix });
    for (let i = 0; i < 10; i++) expect((await a.request('/categories', { headers: bearer(generateKey()) })).status).toBe(401);
    for (let i = 0; i < 10; i++) expect((await b.request('/categories', { headers: bearer(generateKey()) })).status).toBe(401);
    expect((await a.request('/categories', { headers: bearer(generateKey()) })).status).toBe(429);
    expect((await b.request('/categories', { headers: bearer(generateKey()) })).status).toBe(429);
  });

  it('behind TRUST_PROXY_HOPS=1 counts the address the proxy saw, not what the client wrote before it', async () => {
    const app = variant({}, { trustedProxyHops: 1 });
    const from = (xff: string) => app.request('/categories', { headers: { ...bearer(generateKey()), 'x-forwarded-for': xff } });
    // The attacker writes a new "client address" each time; the proxy appends the real one.
    for (let i = 0; i < 20; i++) expect((await from(`10.9.${i}.1, 203.0.113.50`)).status).toBe(401);
    expect((await from('10.9.99.1, 203.0.113.50')).status).toBe(429);
    expect((await from('203.0.113.51')).status).toBe(401);
    // IPv6 clients count by /64: a host rotating through its own /64 is one client.
    for (let i = 0; i < 20; i++) expect((await from(`2001:db8:1:2::${i.toString(16)}`)).status).toBe(401);
    expect((await from('2001:db8:1:2:ffff::1')).status).toBe(429);
    expect((await from('2001:db8:1:3::1')).status).toBe(401);
  });

  it('counts in memory per replica while Redis is down: still throttles, does not lock out a good key', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'producer', { retryStrategy: () => null });
    closers.push(() => dead.disconnect());
    const app = variant({ redis: dead });
    expect((await app.request('/categories', { headers: bearer(t.key) })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await app.request('/categories', { headers: bearer(generateKey()) })).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect((await app.request('/categories', { headers: bearer(t.key) })).status).toBe(200);
  });

  it('throttles wrong admin credentials too, and then refuses the right ones from that address (no oracle)', async () => {
    const app = variant();
    const [v4, v6] = await Promise.all([listen(app, '127.0.0.1'), listen(app, '::1')]);
    for (let i = 0; i < 20; i++) expect((await fetch(`${v4}/dashboard/api/apps`, { headers: basic(`guess-${i}`) })).status).toBe(401);
    const over = await fetch(`${v4}/dashboard/api/apps`, { headers: basic('guess-20') });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await fetch(`${v4}/dashboard/api/apps`, { headers: basic(ADMIN.password) })).status).toBe(429);
    expect((await fetch(`${v6}/dashboard/api/apps`, { headers: basic(ADMIN.password) })).status).toBe(200);
    // API keys have their own budget: the admin guesses did not use it up.
    expect((await fetch(`${v4}/categories`, { headers: bearer(generateKey()) })).status).toBe(401);
  });
});

describe('unknown keys, cached negatively', () => {
  it('asks the database once for a key it does not know, however often it is tried', async () => {
    const { keys, lookups } = await countingKeys();
    const app = variant({ keys }, { authFailuresPerMinute: 1000 });
    const key = generateKey();
    for (let i = 0; i < 10; i++) expect((await app.request('/categories', { headers: bearer(key) })).status).toBe(401);
    expect(lookups()).toBe(1);
    // Not a key at all: no lookup.
    expect((await app.request('/categories', { headers: bearer('sk_test_abc') })).status).toBe(401);
    expect(lookups()).toBe(1);
  });

  it('a key created after its hash was cached as unknown works at once, on every replica', async () => {
    const a = await countingKeys();
    const b = await countingKeys();
    const replicaA = variant({ keys: a.keys }, { authFailuresPerMinute: 1000 });
    const replicaB = variant({ keys: b.keys }, { authFailuresPerMinute: 1000 });
    const key = generateKey();
    expect((await replicaA.request('/categories', { headers: bearer(key) })).status).toBe(401);
    expect((await replicaB.request('/categories', { headers: bearer(key) })).status).toBe(401);
    // The key comes into being the way createKey makes one (row, then the announcement).
    await t.db.prisma.apiKey.create({ data: { id: newId(), appId: t.appId, name: 'late', prefix: key.slice(0, 12), hash: hashKey(key) } });
    await t.redis.publish(KEY_REVOKED_CHANNEL, hashKey(key));
    const works = (replica: typeof replicaA) => async () => ((await replica.request('/categories', { headers: bearer(key) })).status === 200 ? true : undefined);
    await waitFor(works(replicaA), 500, 'replica A accepts the new key');
    await waitFor(works(replicaB), 500, 'replica B accepts the new key');
  });

  it('createKey announces the new hash when given Redis, and POST /keys gives a key that works at once', async () => {
    const sub = createRedis(t.env.REDIS_URL, 'subscriber');
    closers.push(() => sub.disconnect());
    const heard: string[] = [];
    sub.on('message', (_channel: string, hash: string) => heard.push(hash));
    await sub.subscribe(KEY_REVOKED_CHANNEL);
    const created = await createKey(t.db, t.appId, 'announced', t.redis);
    await waitFor(async () => (heard.includes(hashKey(created.key)) ? true : undefined), 1000, 'the announcement');

    const res = await t.call('POST', '/keys', { name: 'via-api' });
    const { key } = await json<{ key: string }>(res);
    expect((await t.call('GET', '/categories', undefined, bearer(key))).status).toBe(200);
  });

  it(`keeps at most ${MAX_UNKNOWN_KEYS} unknown hashes`, async () => {
    const keys = new KeyCache(t.db, await readySubscriber(), t.log, async () => null);
    closers.push(() => keys.close());
    for (let i = 0; i < MAX_UNKNOWN_KEYS + 500; i++) await keys.load(`nk_live_${randomBytes(24).toString('base64url')}`);
    expect(keys.unknownCount).toBe(MAX_UNKNOWN_KEYS);
  });
});

describe('cross-site requests to operator pages', () => {
  const evil = { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' };

  async function failedDelivery(): Promise<string> {
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: `csrf-${randomUUID()}`, message: 'x', channels: ['in_app'] }));
    const id = n.deliveries[0]!.id;
    await finishDelivery(t.db.pool, id, { status: 'failed', provider: 'inbox', errorCode: 'boom', errorMessage: 'x' });
    return id;
  }
  const statusOf = async (id: string) => (await t.db.prisma.delivery.findUniqueOrThrow({ where: { id } })).status;
  const replay = (id: string, headers: Record<string, string>) =>
    t.app.request(`/dashboard/api/deliveries/${id}/replay?app=${t.appId}`, {
      method: 'POST',
      headers: { ...admin, ...headers },
      body: headers['content-type'] ? 'x=1' : undefined,
    });
  const admin = { authorization: adminHeader };

  it.each([
    ['a cross-site form post', evil],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site', origin: 'https://other.localhost' }],
    ['Origin: null (a sandboxed frame)', { origin: 'null' }],
    ['a cross-site POST with no body', { origin: 'https://evil.example' }],
  ])('refuses %s to the dashboard replay with 403, replaying nothing', async (_what, headers) => {
    const id = await failedDelivery();
    const res = await replay(id, headers);
    expect(res.status).toBe(403);
    expect((await json<ErrorJson>(res)).error).toMatchObject({ code: 'forbidden', request_id: expect.any(String) });
    expect(await statusOf(id)).toBe('failed');
    expect(await t.db.prisma.deliveryReplay.count({ where: { deliveryId: id } })).toBe(0);
  });

  it.each([
    ['same-origin by Origin', { origin: 'http://localhost' }],
    ['same-origin by Sec-Fetch-Site', { 'sec-fetch-site': 'same-origin', origin: 'http://localhost' }],
    ['curl with Basic auth and no Origin', {}],
  ])('replays when the post is %s', async (_what, headers) => {
    const id = await failedDelivery();
    const res = await replay(id, headers);
    expect(res.status).toBe(200);
    expect(await statusOf(id)).toBe('queued');
    expect(await t.db.prisma.deliveryReplay.count({ where: { deliveryId: id } })).toBe(1);
  });

  it('refuses a cross-site form post to a Bull Board action, adding no job; a same-origin one works', async () => {
    const path = `/admin/queues/api/queues/${encodeURIComponent(t.queues.email.name)}/add`;
    const before = await t.queues.email.count();
    const res = await t.app.request(path, { method: 'POST', headers: { ...admin, ...evil }, body: 'name=x&data=%7B%7D' });
    expect(res.status).toBe(403);
    expect((await json<ErrorJson>(res)).error.code).toBe('forbidden');
    expect(await t.queues.email.count()).toBe(before);

    const ok = await t.app.request(path, {
      method: 'POST',
      headers: { ...admin, origin: 'http://localhost', 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'operator-test', data: {}, options: { priority: 3 } }),
    });
    expect(ok.status).toBe(200);
    expect(await t.queues.email.count()).toBe(before + 1);
  });

  it('still serves GET pages cross-site (navigation is not a state change)', async () => {
    expect((await t.app.request('/dashboard/api/apps', { headers: { ...admin, 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });
});

describe('IPv6 forms of a refused IPv4 address', () => {
  // Names whose DNS answers one odd form each; "public.example" answers a public address.
  const names = new Map(EMBEDDED_LOOPBACK_FORMS.map(([ip], i) => [`odd-${i}.example`, ip]));
  const lookup: Lookup = async (host) => {
    const ip = names.get(host) ?? '93.184.216.34';
    return [{ address: ip, family: ip.includes(':') ? 6 : 4 }];
  };
  let app: ReturnType<typeof createApp>;
  beforeAll(() => {
    app = variant({ webhooks: { allowedHosts: new Set(), lookup } }, { authFailuresPerMinute: 1000 });
  });
  const call = (method: string, path: string, body: unknown) =>
    app.request(path, { method, headers: { ...bearer(t.key), 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('accepts a public webhook URL (so the refusals below are the guard, not the route)', async () => {
    expect((await call('PUT', '/users/ssrf-ok', { webhook_url: 'https://public.example/hook' })).status).toBe(201);
    expect((await call('POST', '/webhooks', { url: 'https://public.example/status' })).status).toBe(201);
  });

  it.each(EMBEDDED_LOOPBACK_FORMS)('refuses [%s] (%s) when set, as a literal and as a DNS answer', async (ip) => {
    const i = EMBEDDED_LOOPBACK_FORMS.findIndex(([x]) => x === ip);
    for (const url of [`http://[${ip}]:8080/hook`, `https://odd-${i}.example/hook`]) {
      const user = await call('PUT', `/users/ssrf-${i}`, { webhook_url: url });
      expect(user.status, url).toBe(422);
      expect((await json<ErrorJson>(user)).error.details).toEqual([{ path: 'webhook_url', message: expect.stringMatching(/private or reserved/) }]);
      const hook = await call('POST', '/webhooks', { url });
      expect(hook.status, url).toBe(422);
      expect((await json<ErrorJson>(hook)).error.details?.[0]?.path).toBe('url');
    }
    expect(await t.db.prisma.user.findFirst({ where: { appId: t.appId, id: `ssrf-${i}` } })).toBeNull();
  });

  it.each(EMBEDDED_LOOPBACK_FORMS)('refuses [%s] (%s) at send time, as a literal and as a DNS answer', async (ip) => {
    const i = EMBEDDED_LOOPBACK_FORMS.findIndex(([x]) => x === ip);
    const provider = createWebhookProvider({ timeoutMs: 2000, allowedHosts: new Set(), lookup });
    for (const url of [`http://[${ip}]:8080/hook`, `https://odd-${i}.example/hook`]) {
      const sending = provider.send(
        { channel: 'webhook', message: { url, secret: `whsec_${randomBytes(24).toString('base64')}`, payload: { type: 'x' } } },
        { deliveryId: randomUUID(), notificationId: randomUUID(), attempt: 1, log: t.log },
      );
      const err = await sending.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, url).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('webhook_url_forbidden');
      expect((err as ProviderError).retryable).toBe(false);
    }
  });
});
