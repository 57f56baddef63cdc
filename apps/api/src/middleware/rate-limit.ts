import { AppError, type Redis } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { RateCounter } from '../rate-counter.js';

/**
 * Requests per second per API key, shared by every replica; over it: 429
 * with Retry-After. A user token counts on its own (per key and user), so
 * the browsers of many users never use up the backend's budget, nor one
 * user another's.
 */
export function rateLimit(redis: Redis, perSecond: number): MiddlewareHandler<ApiEnv> {
  const counter = new RateCounter(redis, perSecond);
  const limit = String(perSecond);
  return async (c, next) => {
    const user = c.get('tokenUser');
    const decision = await counter.consume(user === undefined ? c.get('keyId') : `${c.get('keyId')}:user:${user}`);
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.msBeforeNext / 1000));
      throw new AppError('rate_limited', `Over ${perSecond} requests per second for this ${user === undefined ? 'API key' : 'user token'}`, undefined, {
        headers: { 'Retry-After': String(seconds), 'RateLimit-Limit': limit, 'RateLimit-Remaining': '0' },
      });
    }
    c.header('RateLimit-Limit', limit);
    c.header('RateLimit-Remaining', String(decision.remaining));
    await next();
  };
}
