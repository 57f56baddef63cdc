import { unavailable, type Redis } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/**
 * Refuses work that must reach a queue while Redis is down, before anything
 * is written: the client gets a 503 to retry rather than a 202 for a
 * notification that would sit until the sweeper's next pass.
 */
export function requireRedis(redis: Redis): MiddlewareHandler<ApiEnv> {
  return async (_c, next) => {
    if (redis.status !== 'ready') throw unavailable('Redis');
    await next();
  };
}
