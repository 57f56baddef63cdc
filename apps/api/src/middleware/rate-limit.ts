import { AppError, type Redis } from '@notify/core';
import type { MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiEnv } from '../context.js';

/**
 * Requests per second per API key, counted in Redis so every API replica
 * shares the budget. Over it: 429 with Retry-After. While Redis is
 * unreachable each replica counts alone (in memory) rather than refusing.
 */
export function rateLimit(redis: Redis, perSecond: number): MiddlewareHandler<ApiEnv> {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'notify:rate',
    points: perSecond,
    duration: 1,
    insuranceLimiter: new RateLimiterMemory({ points: perSecond, duration: 1 }),
  });
  return async (c, next) => {
    const key = c.get('keyId');
    try {
      const res = await limiter.consume(key);
      c.header('RateLimit-Limit', String(perSecond));
      c.header('RateLimit-Remaining', String(res.remainingPoints));
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected;
      const seconds = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
      throw new AppError('rate_limited', `Over ${perSecond} requests per second for this API key`, undefined, {
        headers: { 'Retry-After': String(seconds), 'RateLimit-Limit': String(perSecond), 'RateLimit-Remaining': '0' },
      });
    }
    await next();
  };
}
