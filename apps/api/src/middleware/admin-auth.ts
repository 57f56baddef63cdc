import { timingSafeEqual } from 'node:crypto';
import { AppError } from '@notify/core';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * HTTP Basic auth for operators (Bull Board, /metrics, the dashboard), with
 * the credentials from ADMIN_USER / ADMIN_PASSWORD. No password: locked.
 */
export function adminAuth(credentials: { user: string; password: string }): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const challenge = { headers: { 'WWW-Authenticate': 'Basic realm="notify admin", charset="UTF-8"' } };
    if (!credentials.password) {
      throw new AppError('unauthorized', 'Admin pages are locked: set ADMIN_PASSWORD', undefined, challenge);
    }
    const match = /^Basic\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const ok = colon > 0 && same(decoded.slice(0, colon), credentials.user) && same(decoded.slice(colon + 1), credentials.password);
    if (!ok) throw new AppError('unauthorized', 'Admin credentials required', undefined, challenge);
    await next();
  };
}
