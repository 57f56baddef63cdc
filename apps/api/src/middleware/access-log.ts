import type { Logger } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/** Gives each request a child logger carrying its request id, and logs one line per request. */
export function accessLog(log: Logger): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now();
    const child = log.child({ request_id: c.get('requestId') });
    c.set('log', child);
    await next();
    child.info({ method: c.req.method, path: loggedPath(c.req.path), status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
  };
}

/** An unsubscribe link's token acts for its user: it stays out of the log. */
function loggedPath(path: string): string {
  return path.startsWith('/unsubscribe/') ? '/unsubscribe/[token]' : path;
}
