import { createRedis } from '@notify/core/platform';
import { once } from 'node:events';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { requireRedis } from './require-redis.js';

const redis = createRedis(inject('redisUrl'), 'producer');
afterAll(() => redis.disconnect());

function app(client = redis) {
  const a = middlewareApp();
  let handled = 0;
  a.use(requireRedis(client));
  a.post('/send', (c) => c.json({ handled: ++handled }, 202));
  return a;
}

describe('requireRedis', () => {
  it('lets work through while Redis is ready', async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
    expect(await send(app(), '/send', { method: 'POST' })).toMatchObject({ status: 202, body: { handled: 1 } });
  });

  it('answers 503 unavailable, before the handler runs, while Redis is not ready', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'producer');
    down.disconnect();
    const res = await send(app(down), '/send', { method: 'POST' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: 'unavailable' } });
  });
});
