import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createLogger, createRedis } from '@notify/core/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { adminAuth } from './admin-auth.js';
import { AuthThrottle, clientAddress, throttleBucket } from './auth-throttle.js';

const redis = createRedis(inject('redisUrl'), 'producer');
beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(() => redis.disconnect());

const log = createLogger('silent');
const throttle = (maxFailures: number, windowMs = 60_000) => new AuthThrottle(redis, log, { maxFailures, windowMs, keyPrefix: `test-${randomUUID()}:auth` });
const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

describe('AuthThrottle', () => {
  it('allows maxFailures per address, then refuses with the time left in the window', async () => {
    const th = throttle(2);
    expect((await th.fail('1.2.3.4')).allowed).toBe(true);
    expect((await th.fail('1.2.3.4')).allowed).toBe(true);
    const refused = await th.fail('1.2.3.4');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(59_000);
    expect(th.refusal('1.2.3.4')?.allowed).toBe(false);
    expect(th.refusal('5.6.7.8')).toBeNull();
    expect((await th.fail('5.6.7.8')).allowed).toBe(true);
  });

  it('shares one budget between replicas through Redis, and a refund gives an attempt back', async () => {
    const prefix = `test-${randomUUID()}:auth`;
    const [a, b] = [new AuthThrottle(redis, log, { maxFailures: 2, keyPrefix: prefix }), new AuthThrottle(redis, log, { maxFailures: 2, keyPrefix: prefix })];
    await a.fail('9.9.9.9');
    a.refund('9.9.9.9');
    await a.fail('9.9.9.9');
    expect((await b.fail('9.9.9.9')).allowed).toBe(true);
    expect((await b.fail('9.9.9.9')).allowed).toBe(false);
  });

  it('forgets an address when its window ends', async () => {
    const th = throttle(1, 200);
    await th.fail('1.1.1.1');
    expect((await th.fail('1.1.1.1')).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect(th.refusal('1.1.1.1')).toBeNull();
    expect((await th.fail('1.1.1.1')).allowed).toBe(true);
  });
});

describe('throttleBucket and clientAddress', () => {
  it('counts IPv4-mapped IPv6 as its IPv4 and other IPv6 by its /64', () => {
    expect(throttleBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(throttleBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(throttleBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('2001:db8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(throttleBucket('garbage')).toBe('unknown');
  });

  it('trusts only as many X-Forwarded-For entries as there are proxies of ours', async () => {
    const seen: string[] = [];
    const a = middlewareApp();
    a.get('/ip/:hops', (c) => {
      seen.push(clientAddress(c, Number(c.req.param('hops'))));
      return c.body(null, 204);
    });
    const xff = { 'x-forwarded-for': '6.6.6.6, 198.51.100.1, 10.0.0.2' };
    for (const hops of [0, 1, 2, 9]) await a.request(`/ip/${hops}`, { headers: xff });
    // No socket in app.request: without trusted hops the address is unknown, whatever the client wrote.
    expect(seen).toEqual(['unknown', '10.0.0.2', '198.51.100.1', '6.6.6.6']);
  });
});

describe('adminAuth with a throttle', () => {
  it('answers 429 with Retry-After past the budget, even for the right password; no Authorization is not counted', async () => {
    const a = middlewareApp();
    a.use(adminAuth({ user: 'ops', password: 'right' }, { throttle: throttle(2) }));
    a.get('/admin', (c) => c.json({ ok: true }));
    for (let i = 0; i < 5; i++) expect((await send(a, '/admin')).status).toBe(401);
    expect((await send(a, '/admin', { headers: { authorization: basic('ops:right') } })).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(a, '/admin', { headers: { authorization: basic('ops:wrong') } })).status);
    expect(statuses).toEqual([401, 401, 429]);
    const blocked = await send(a, '/admin', { headers: { authorization: basic('ops:right') } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(59);
    expect(blocked.body).toMatchObject({ error: { code: 'rate_limited' } });
  });
});
