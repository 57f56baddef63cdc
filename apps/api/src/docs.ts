import { createRequire } from 'node:module';
import path from 'node:path';
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { serveStatic } from '@hono/node-server/serve-static';
import type { ApiEnv } from './context.js';
import { errorResponses, EVERY_REQUEST } from './openapi.js';

const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>notify API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', persistAuthorization: true });
  </script>
</body>
</html>`;

/**
 * The repository has no licence file: all rights reserved until its owner
 * picks one (then change it here). A variable, not a literal, because
 * zod-openapi types doc31's config with OpenAPI 3.0's licence, which has no
 * `identifier` (3.1 added it).
 */
const LICENSE: { name: string; identifier: string } = { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' };

const TAGS = [
  { name: 'notifications', description: 'Send to a user, many users or a topic; follow, cancel' },
  { name: 'users', description: "Users' contacts and devices; erasure" },
  { name: 'preferences', description: 'Opt-in and opt-out per channel and category' },
  { name: 'inbox', description: 'The in-app inbox and its live stream' },
  { name: 'deliveries', description: 'Per-channel deliveries, dead letters and replay' },
  { name: 'templates', description: 'Versioned Liquid templates per channel and locale' },
  { name: 'workflows', description: 'Multi-step flows (send, delay, digest, branch), versioned like templates' },
  { name: 'categories', description: 'Notification categories (required ones cannot be opted out of)' },
  { name: 'topics', description: 'Named groups of users to notify at once' },
  { name: 'schedules', description: "Recurring sends: a cron expression in a time zone (or each user's), a target and the content" },
  { name: 'keys', description: "The app's API keys" },
  { name: 'webhooks', description: 'Status webhooks: delivery and notification events' },
  { name: 'operations', description: 'Liveness, readiness and metrics, for orchestrators and Prometheus' },
];

/**
 * /openapi.json: the OpenAPI 3.1 document, generated from the zod schemas the
 * routes validate with. /docs: Swagger UI, served from swagger-ui-dist here
 * (no CDN, works offline).
 */
export function mountDocs(app: OpenAPIHono<ApiEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer nk_live_...` (see `npm run keys`)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'userToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A user token from POST /users/{user_id}/tokens: opens only that user's inbox and preferences (the inbox stream also takes it as `?token=`)",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'admin', {
    type: 'http',
    scheme: 'basic',
    description: 'Operators: ADMIN_USER / ADMIN_PASSWORD (no password set: locked, every request 401)',
  });
  // /metrics is a plain Hono route (prom-client's text format, not a zod schema): described here.
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['operations'],
    summary: "Prometheus metrics: HTTP requests, queue depths, the workers' deliveries",
    security: [{ admin: [] }],
    responses: {
      200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
      // 429: failed admin logins are throttled per client address.
      ...errorResponses(...EVERY_REQUEST, 401, 429, 503),
    },
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'notify',
      version: '1.0.0',
      description: 'A self-hosted notification service: email, SMS, push, in-app and webhooks, with preferences, templates, retries and dead letters.',
      license: LICENSE,
    },
    // Relative: the API is wherever this document was fetched from (each deployment has its own host).
    servers: [{ url: '/', description: 'The service that serves this document' }],
    security: [{ apiKey: [] }],
    tags: TAGS,
  });
  app.get('/docs', (c) => c.html(PAGE));
  app.use('/docs/assets/*', serveStatic({ root: path.relative(process.cwd(), swaggerDir), rewriteRequestPath: (p) => p.replace(/^\/docs\/assets/, '') }));
}
