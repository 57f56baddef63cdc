import { Batcher, type Redis } from '@notify/core';

const WINDOW_MS = 1000;

/**
 * Adds ARGV[1] to the key's count in its current window (which starts with
 * the key's first request and lasts ARGV[2] ms); returns the new count and
 * the ms left in the window. One script, so the expiry is never lost.
 */
const COUNT_SCRIPT = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface RateDecision {
  allowed: boolean;
  /** Requests left in this window. */
  remaining: number;
  /** When the window resets. */
  msBeforeNext: number;
}

type Counted = { count: number; msLeft: number };

/**
 * Requests per second per API key in fixed one-second windows, counted in
 * Redis so every API replica shares the budget. Concurrent requests are
 * counted together: one script call per key per batch, all keys of a batch
 * in one round trip, instead of a round trip per request. While Redis is
 * unreachable each replica counts alone, in memory, rather than refusing.
 */
export class RateCounter {
  private readonly batcher: Batcher<string, RateDecision>;
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly perSecond: number,
    private readonly prefix = 'notify:rate:',
  ) {
    this.batcher = new Batcher((keys) => this.decide(keys), { maxBatch: 500, maxInFlight: 4 });
  }

  consume(key: string): Promise<RateDecision> {
    return this.batcher.submit(key);
  }

  private async decide(keys: string[]): Promise<RateDecision[]> {
    const perKey = new Map<string, number>();
    for (const key of keys) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    let counted: Map<string, Counted>;
    try {
      counted = await this.countInRedis(perKey);
    } catch {
      counted = this.countLocally(perKey);
    }
    // The i-th request of a key in this batch is the (count - n + i)-th of its window.
    const seen = new Map<string, number>();
    return keys.map((key) => {
      const { count, msLeft } = counted.get(key)!;
      const position = count - perKey.get(key)! + (seen.get(key) ?? 0) + 1;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      return { allowed: position <= this.perSecond, remaining: Math.max(0, this.perSecond - position), msBeforeNext: msLeft };
    });
  }

  private async countInRedis(perKey: Map<string, number>): Promise<Map<string, Counted>> {
    const pipeline = this.redis.pipeline();
    for (const [key, n] of perKey) pipeline.eval(COUNT_SCRIPT, 1, this.prefix + key, n, WINDOW_MS);
    const replies = (await pipeline.exec()) ?? [];
    const out = new Map<string, Counted>();
    [...perKey.keys()].forEach((key, i) => {
      const [err, reply] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      const [count, pttl] = reply as [number, number];
      out.set(key, { count, msLeft: pttl > 0 ? pttl : WINDOW_MS });
    });
    return out;
  }

  private countLocally(perKey: Map<string, number>): Map<string, Counted> {
    const now = Date.now();
    const out = new Map<string, Counted>();
    for (const [key, n] of perKey) {
      let window = this.local.get(key);
      if (!window || window.resetAt <= now) {
        if (this.local.size >= 10_000) this.local.clear();
        window = { count: 0, resetAt: now + WINDOW_MS };
        this.local.set(key, window);
      }
      window.count += n;
      out.set(key, { count: window.count, msLeft: window.resetAt - now });
    }
    return out;
  }
}
