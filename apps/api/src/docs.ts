import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { serveStatic } from '@hono/node-server/serve-static';
import type { ApiEnv } from './context.js';

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
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'notify',
      version: '1.0.0',
      description: 'A self-hosted notification service: email, SMS, push, in-app and webhooks, with preferences, templates, retries and dead letters.',
    },
    security: [{ apiKey: [] }],
  });
  app.get('/docs', (c) => c.html(PAGE));
  app.use(
    '/docs/assets/*',
    serveStatic({ root: path.relative(process.cwd(), swaggerDir), rewriteRequestPath: (p) => p.replace(/^\/docs\/assets/, '') }),
  );
}
