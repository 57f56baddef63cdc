import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { inboxDemoPage } from './page.js';

export const INBOX_DEMO_PATH = '/inbox-demo';
/** Where the <notify-inbox> component's build is served, for any site's pages. */
export const INBOX_CLIENT_PATH = '/inbox-client';

const here = path.dirname(fileURLToPath(import.meta.url));
/** apps/api/public/inbox-demo, from src/inbox-demo or dist/inbox-demo alike. */
const publicDir = path.resolve(here, '../../public/inbox-demo');
/** packages/inbox/dist. Found through its package.json, which exists before any build (a missing build is a 404, not a failed start). */
const componentDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@notify/inbox/package.json')), 'dist');
const relative = (dir: string) => path.relative(process.cwd(), dir);

/** The demo's own page loads only from here; connect-src is open so it can be pointed at another API URL. */
const DEMO_CSP = ["default-src 'self'", "connect-src 'self' http: https:", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"].join('; ');

/** The demo page of the inbox component at /inbox-demo (mounted behind the admin credentials). */
export function inboxDemoRoutes() {
  const app = new Hono<ApiEnv>();
  app.get('/', (c) => {
    c.header('Content-Security-Policy', DEMO_CSP);
    return c.html(inboxDemoPage(`${INBOX_CLIENT_PATH}/notify-inbox.js`));
  });
  app.use('/assets/*', serveStatic({ root: relative(publicDir), rewriteRequestPath: (p) => p.replace(/^\/inbox-demo\/assets/, '') }));
  return app;
}

/**
 * The component's ES modules (the build of packages/inbox), public like any
 * script a site embeds: no credentials, no user data. A module script from
 * another origin is fetched in CORS mode, so these answers (and only these)
 * allow any origin.
 */
export function inboxClientAssets() {
  const app = new Hono<ApiEnv>();
  const anyOrigin: MiddlewareHandler = async (c, next) => {
    await next();
    c.header('Access-Control-Allow-Origin', '*');
  };
  app.use('/:file{[a-z-]+\\.js}', anyOrigin, serveStatic({ root: relative(componentDir), rewriteRequestPath: (p) => p.slice(INBOX_CLIENT_PATH.length) }));
  return app;
}
