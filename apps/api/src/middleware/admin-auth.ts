import { timingSafeEqual } from 'node:crypto';
import { AppError } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { clientAddress, throttled, type AuthThrottle } from './auth-throttle.js';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface AdminAuthOptions {
  /** Counts wrong credentials per client address; over it, 429 even for the right ones. */
  throttle?: AuthThrottle;
  /** TRUST_PROXY_HOPS: see clientAddress. */
  trustedProxyHops?: number;
}

/**
 * HTTP Basic auth for operators (Bull Board, /metrics, the dashboard), with
 * the credentials from ADMIN_USER / ADMIN_PASSWORD. No password: locked.
 * Wrong credentials count against the client address; an address over its
 * budget is refused whatever it sends, or a guesser would still learn which
 * guess was right. A request with no Authorization at all (a browser's first
 * visit, before the prompt) is not counted: it guesses nothing.
 */
export function adminAuth(credentials: { user: string; password: string }, opts: AdminAuthOptions = {}): MiddlewareHandler<ApiEnv> {
  const challenge = { headers: { 'WWW-Authenticate': 'Basic realm="notify admin", charset="UTF-8"' } };
  return async (c, next) => {
    if (!credentials.password) {
      throw new AppError('unauthorized', 'Admin pages are locked: set ADMIN_PASSWORD', undefined, challenge);
    }
    const header = c.req.header('authorization');
    const address = opts.throttle && header !== undefined ? clientAddress(c, opts.trustedProxyHops ?? 0) : '';
    const known = opts.throttle && header !== undefined ? opts.throttle.refusal(address) : null;
    if (known) throw throttled(known);
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const ok = colon > 0 && same(decoded.slice(0, colon), credentials.user) && same(decoded.slice(colon + 1), credentials.password);
    if (!ok) {
      const decision = header !== undefined ? await opts.throttle?.fail(address) : undefined;
      if (decision && !decision.allowed) throw throttled(decision);
      throw new AppError('unauthorized', 'Admin credentials required', undefined, challenge);
    }
    await next();
  };
}
