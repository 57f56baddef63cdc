import { originAllowedByAnyApp } from '@notify/core/access';
import { AppError, type Db } from '@notify/core/platform';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { CredentialCache } from './credential-cache.js';
import { originHost } from './same-origin.js';
import { USER_TOKEN_METHODS, userTokenScope } from './user-token-scope.js';

/** Headers a browser client sends: the token, a JSON body, and EventSource's resume point. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID';
/** Headers a browser client may read: the request id (for support) and when to retry. */
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * The `Origin` of a cross-origin browser request, or null: no Origin (not a
 * browser, or a same-origin GET) and same-origin requests (the
 * service's own pages) need no CORS. Hosts are compared as sameOrigin does.
 */
export function crossOrigin(c: Context): string | null {
  const origin = c.req.header('origin');
  if (origin === undefined || c.req.header('sec-fetch-site') === 'same-origin') return null;
  return originHost(origin) === (c.req.header('host') ?? new URL(c.req.url).host) ? null : origin;
}

/** Whether any app lists an origin, cached per replica like keys (a minute if so, 15 s if not). */
export class CorsOrigins {
  private readonly cache = new CredentialCache<true>();

  constructor(private readonly db: Db) {}

  async allowedByAnyApp(origin: string): Promise<boolean> {
    const known = this.cache.known(origin);
    if (known !== undefined) return known !== null;
    const found = await this.cache.verify(origin, () => this.cache.load(origin, async () => ((await originAllowedByAnyApp(this.db, origin)) ? true : null)));
    return found !== null;
  }

  /** After this replica changed an app's list: ask again. Other replicas see it within a minute. */
  clear(): void {
    this.cache.clear();
  }
}

/**
 * CORS on the user-token routes only (see user-token-scope.ts); every other
 * route answers no CORS headers at all.
 *
 * A preflight carries no credentials, so it cannot name the app: it is
 * answered for an origin that some app allows (PUT /app/cors), and refused
 * (403, no CORS headers) for any other. The actual request then carries the
 * token, whose app decides: authentication (api-key-auth.ts) refuses a valid
 * token sent from an origin its app does not list (403, no CORS headers, so
 * the browser shows the page nothing), and the response allows the origin
 * only for a request its token authenticated. A request whose token was
 * refused (401: expired, tampered) or throttled (429) from an origin some app
 * lists is readable too, so a client can tell that it should mint a new token.
 * API keys never get CORS headers: a key does not belong in a browser.
 */
export function userCors(origins: CorsOrigins): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const preflight = c.req.method === 'OPTIONS';
    const method = preflight ? (c.req.header('access-control-request-method') ?? '') : c.req.method;
    const origin = crossOrigin(c);
    if (!origin || !userTokenScope(method, c.req.path)) return next();
    if (preflight) {
      if (!(await origins.allowedByAnyApp(origin))) throw new AppError('forbidden', 'This origin is not among the allowed origins of any app (PUT /app/cors)');
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': USER_TOKEN_METHODS.join(', '),
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
        Vary: 'Origin',
      });
    }
    await next();
    c.res.headers.append('Vary', 'Origin');
    const authenticated = c.get('tokenUser') !== undefined;
    const refused = !authenticated && (c.res.status === 401 || c.res.status === 429);
    if (authenticated || (refused && (await origins.allowedByAnyApp(origin)))) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
  };
}
