import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDocumentedStatuses, undocumentedStatus } from '../testing/documented-statuses.js';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

interface Operation {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, unknown>;
}

interface OpenApiDoc {
  openapi: string;
  info: { license?: { name: string; identifier?: string } };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

/** Pages and scripts for people, not part of the contract: Bull Board, the dashboard, the inbox demo and component, the docs themselves. */
const NOT_API = /^\/(docs|openapi\.json|admin|dashboard|inbox-demo|inbox-client)(\/|$)/;
/** Not behind an API key: operations, and what a provider's signature or a link's own token authorises. */
const OPERATIONS = ['/health', '/ready', '/metrics', '/providers/twilio/status', '/unsubscribe/{token}'];

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document without a key', async () => {
    const res = await t.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await json<OpenApiDoc>(res);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes).toHaveProperty('apiKey');
    expect(doc.components.schemas).toHaveProperty('CreateNotification');
    expect(doc.components.schemas).toHaveProperty('Error');
  });

  it('documents every API route the app serves', async () => {
    const doc = await json<OpenApiDoc>(await t.app.request('/openapi.json'));
    const served = t.app.routes
      .filter((r) => r.method !== 'ALL' && !NOT_API.test(r.path))
      .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:([A-Za-z_]+)/g, '{$1}') }));
    expect(served.length).toBeGreaterThan(30);
    const missing = served.filter((r) => !doc.paths[r.path]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('documents the error responses in the one error shape', async () => {
    const doc = await json<OpenApiDoc>(await t.app.request('/openapi.json'));
    const post = doc.paths['/notifications']!.post!;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '422', '503']));
    expect(post.responses['413']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  });

  it('gives every operation an operationId, and every tenant operation the statuses its middleware can answer', async () => {
    const doc = await json<OpenApiDoc>(await t.app.request('/openapi.json'));
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.filter((o) => !o.op.operationId).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    expect(new Set(operations.map((o) => o.op.operationId)).size).toBe(operations.length);
    const tenant = operations.filter((o) => !OPERATIONS.includes(o.path));
    expect(tenant.length).toBeGreaterThan(30);
    for (const { path, method, op } of tenant) {
      expect({ path, method, statuses: Object.keys(op.responses) }).toEqual({
        path,
        method,
        statuses: expect.arrayContaining(['401', '413', '429', '500', '503']),
      });
    }
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.info.license?.name).toBeTruthy();
  });

  it('documents /health and /ready without a key, and /metrics behind the admin password', async () => {
    const doc = await json<OpenApiDoc>(await t.app.request('/openapi.json'));
    expect(doc.paths['/health']?.get).toMatchObject({ operationId: 'getHealth', security: [] });
    expect(Object.keys(doc.paths['/ready']!.get!.responses)).toEqual(expect.arrayContaining(['200', '503']));
    expect(doc.paths['/metrics']?.get?.security).toEqual([{ admin: [] }]);
    expect(doc.components.securitySchemes).toHaveProperty('admin');
  });

  it('finds, for a request, the operation Hono routes it to', async () => {
    const doc = await json<OpenApiDoc>(await t.app.request('/openapi.json'));
    const check = (method: string, path: string, status: number) => undocumentedStatus(doc, t.app.routes, method, path, status);
    expect(check('GET', '/users/u1/inbox/unread_count', 200)).toBeNull();
    expect(check('GET', '/users/u1/inbox/unread_count', 418)).toMatch(/GET \/users\/\{user_id\}\/inbox\/unread_count does not document/);
    expect(check('POST', '/notifications/bulk', 418)).toMatch(/POST \/notifications\/bulk does not document/);
    expect(check('POST', '/notifications/0190a4e2-0000-7000-8000-000000000000/cancel', 409)).toBeNull();
    // Outside the contract, or no route at all: not judged.
    expect(check('GET', '/dashboard', 418)).toBeNull();
    expect(check('GET', '/no/such/route', 404)).toBeNull();
  });

  it('fails a request whose status its operation does not document', async () => {
    const app = new OpenAPIHono();
    app.openapi(
      createRoute({
        method: 'get',
        path: '/teapot/{mood}',
        request: { params: z.object({ mood: z.string() }) },
        responses: { 200: { description: 'Tea', content: { 'text/plain': { schema: z.string() } } } },
      }),
      // The lie under test: a status the route does not declare.
      (c) => (c.req.valid('param').mood === 'cross' ? c.text('no tea', 418 as 200) : c.text('tea', 200)),
    );
    app.get('/undocumented', (c) => c.text('not in the document', 418));
    app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'teapot', version: '1' } });
    const undocumented = checkDocumentedStatuses(app);

    expect((await app.request('/teapot/calm')).status).toBe(200);
    await expect(app.request('/teapot/cross')).rejects.toThrow('GET /teapot/cross answered 418, which GET /teapot/{mood} does not document (it documents 200)');
    expect((await app.request('/undocumented')).status).toBe(418);
    expect(undocumented).toHaveLength(1);
  });

  it('serves the interactive docs page and its assets locally, without a key', async () => {
    const page = await t.app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const asset = await t.app.request('/docs/assets/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(100_000);
  });
});
