import { GroupCommit, type Redis } from '@notify/core/platform';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateDecision {
  allowed: boolean;
  /** Requests left in this window. */
  remaining: number;
  /** When the window resets. */
  msBeforeNext: number;
}

/**
 * Requests per second per API key, counted in Redis (rate-limiter-flexible)
 * so every API replica shares the budget. Concurrent requests are counted
 * together: one consume of n points per key per group instead of a Redis
 * round trip per request. While Redis is unreachable each replica counts
 * alone, in memory, rather than refusing.
 */
export class RateCounter {
  private readonly limiter: RateLimiterRedis;
  private readonly groupCommit: GroupCommit<string, RateDecision>;

  constructor(
    redis: Redis,
    private readonly perSecond: number,
    keyPrefix = 'notify:rate',
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points: perSecond,
      duration: 1,
      insuranceLimiter: new RateLimiterMemory({ points: perSecond, duration: 1 }),
    });
    this.groupCommit = new GroupCommit((keys) => this.decide(keys), { maxGroup: 500, maxInFlight: 4 });
  }

  consume(key: string): Promise<RateDecision> {
    return this.groupCommit.submit(key);
  }

  private async decide(keys: string[]): Promise<RateDecision[]> {
    const perKey = new Map<string, number>();
    for (const key of keys) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    const counted = new Map(await Promise.all([...perKey].map(async ([key, n]) => [key, await this.count(key, n)] as const)));
    // The i-th request of a key in this group is the (consumed - n + i)-th of its window.
    const seen = new Map<string, number>();
    return keys.map((key) => {
      const res = counted.get(key)!;
      const nth = seen.get(key) ?? 0;
      seen.set(key, nth + 1);
      const position = res.consumedPoints - perKey.get(key)! + nth + 1;
      return { allowed: position <= this.perSecond, remaining: Math.max(0, this.perSecond - position), msBeforeNext: res.msBeforeNext };
    });
  }

  /** Adds n to the key's window; over the budget the limiter rejects, with the same counts. */
  private async count(key: string, n: number): Promise<RateLimiterRes> {
    try {
      return await this.limiter.consume(key, n);
    } catch (over) {
      if (over instanceof RateLimiterRes) return over;
      throw over;
    }
  }
}
