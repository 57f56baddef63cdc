import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createRedis } from '@notify/core/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { rateLimit } from './rate-limit.js';

const redis = createRedis(inject('redisUrl'), 'producer');
beforeAll(async () => {
  if (redis.status !== 'ready') await once(redis, 'ready');
});
afterAll(() => redis.disconnect());

/** An app limited to `perSecond` per key, the key id taken from a header (api-key-auth sets it in the real app). */
function app(perSecond: number) {
  const a = middlewareApp();
  a.use(async (c, next) => {
    c.set('keyId', c.req.header('x-key') ?? 'none');
    await next();
  });
  a.use(rateLimit(redis, perSecond));
  a.get('/x', (c) => c.json({ ok: true }));
  return a;
}

describe('rateLimit', () => {
  it('counts per key: the request past the limit answers 429 with Retry-After, another key is untouched', async () => {
    const a = app(3);
    const key = randomUUID();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await send(a, '/x', { headers: { 'x-key': key } }));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(results.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(results[0]!.headers.get('ratelimit-limit')).toBe('3');
    const refused = results[3]!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({ error: { code: 'rate_limited', message: 'Over 3 requests per second for this API key' } });
    expect((await send(a, '/x', { headers: { 'x-key': randomUUID() } })).status).toBe(200);
  });

  it('shares the count between replicas (two apps on one Redis)', async () => {
    const key = randomUUID();
    const [one, two] = [app(2), app(2)];
    expect((await send(one, '/x', { headers: { 'x-key': key } })).status).toBe(200);
    expect((await send(two, '/x', { headers: { 'x-key': key } })).status).toBe(200);
    expect((await send(one, '/x', { headers: { 'x-key': key } })).status).toBe(429);
  });
});
