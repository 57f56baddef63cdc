import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

/** Routes that are not part of the client API: operations pages and the docs themselves. */
const NOT_API = /^\/(health|ready|docs|openapi\.json|admin|metrics|dashboard)(\/|$)/;

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
