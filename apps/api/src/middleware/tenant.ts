import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/** The app every request acts for. Single-tenant until API keys pick the app per request. */
export const DEFAULT_APP_ID = 'default';

export function tenant(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    c.set('appId', DEFAULT_APP_ID);
    await next();
  };
}
