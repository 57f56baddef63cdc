import { AppError } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The host of an `Origin` header, or null for "null" and garbage. */
export function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null; // "null" (sandboxed frames, some redirects) and garbage alike
  }
}

/**
 * Refuses cross-origin state-changing requests (CSRF) to pages that a
 * browser authenticates by itself (Basic auth is resent on every request,
 * from any site). The rules of Go's CrossOriginProtection:
 * - GET, HEAD and OPTIONS pass: they change nothing.
 * - `Sec-Fetch-Site: same-origin` or `none` (typed in, a bookmark) passes;
 *   any other value (`same-site`, `cross-site`) is refused, since a sibling
 *   subdomain is not necessarily ours.
 * - Without Sec-Fetch-Site (an older browser): an Origin whose host is the
 *   request's Host passes, another Origin is refused.
 * - Neither header: not a browser (curl, scripts), which sends no ambient
 *   credentials: passes.
 * Unlike hono/csrf, every content type is checked (a cross-site POST needs
 * none for Bull Board to act on it) and the answer is our 403 `forbidden`.
 * Hosts are compared without the scheme, so TLS ended at a proxy in front
 * still counts as same-origin.
 */
export function sameOrigin(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    const site = c.req.header('sec-fetch-site');
    if (site === 'same-origin' || site === 'none') return next();
    const origin = c.req.header('origin');
    if (site === undefined) {
      if (origin === undefined) return next();
      const host = c.req.header('host') ?? new URL(c.req.url).host;
      if (originHost(origin) === host) return next();
    }
    throw new AppError('forbidden', `Cross-origin ${c.req.method} refused: send it from this service's own pages, or without a browser`);
  };
}
