import { createRedis, type Redis } from '@notify/core/platform';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateCounter } from './rate-counter.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

const prefix = () => `${t.env.QUEUE_PREFIX}:rate-test:${Math.random().toString(36).slice(2)}`;
const consumeMany = (counter: RateCounter, key: string, n: number) => Promise.all(Array.from({ length: n }, () => counter.consume(key)));

describe('RateCounter', () => {
  it('lets exactly the budget through when requests arrive together, counting them in one Redis key', async () => {
    const p = prefix();
    const decisions = await consumeMany(new RateCounter(t.redis, 5, p), 'k1', 8);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
    expect(decisions.filter((d) => d.allowed).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(decisions.every((d) => d.msBeforeNext > 0 && d.msBeforeNext <= 1000)).toBe(true);
    expect(await t.redis.get(`${p}:k1`)).toBe('8');
    expect(await t.redis.pttl(`${p}:k1`)).toBeGreaterThan(0);
  });

  it('gives each key its own budget and every replica the same one', async () => {
    const p = prefix();
    const replicaA = new RateCounter(t.redis, 3, p);
    const replicaB = new RateCounter(t.redis, 3, p);
    const [a, b, other] = await Promise.all([consumeMany(replicaA, 'shared', 2), consumeMany(replicaB, 'shared', 2), consumeMany(replicaA, 'other', 3)]);
    expect([...a, ...b].filter((d) => d.allowed)).toHaveLength(3);
    expect(other.every((d) => d.allowed)).toBe(true);
  });

  it('opens a new window after a second', async () => {
    const counter = new RateCounter(t.redis, 2, prefix());
    expect((await consumeMany(counter, 'k', 3)).filter((d) => d.allowed)).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await consumeMany(counter, 'k', 2)).every((d) => d.allowed)).toBe(true);
  });

  it('counts in memory while Redis is unreachable instead of refusing', async () => {
    const down: Redis = createRedis('redis://127.0.0.1:1', 'producer', { retryStrategy: () => null });
    try {
      const decisions = await consumeMany(new RateCounter(down, 5, prefix()), 'k', 8);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
      expect(decisions.find((d) => !d.allowed)?.msBeforeNext).toBeGreaterThan(0);
    } finally {
      down.disconnect();
    }
  });
});
