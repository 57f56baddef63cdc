import { createKey } from '@notify/core/access';
import type { CorsSettings, UserToken } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

const ALLOWED = 'https://app.example.com';
/** Allowed by another app only. */
const OTHERS = 'https://other.example.com';
const UNKNOWN = 'https://evil.example.net';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.db.prisma.app.create({ data: { id: 'other-app', name: 'other-app' } });
  const other = await createKey(t.db, 'other-app', 'other');
  expect((await t.call('PUT', '/app/cors', { allowed_origins: [OTHERS] }, { authorization: `Bearer ${other.key}` })).status).toBe(200);
  token = (await json<UserToken>(await t.call('POST', '/users/cors-user/tokens'))).token;
});
afterAll(() => t?.close());

const preflight = (path: string, origin: string, method = 'GET') =>
  t.app.request(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' } });
const fromBrowser = (method: string, path: string, origin: string, credential = token) => t.call(method, path, undefined, { origin, authorization: `Bearer ${credential}` });

describe('GET and PUT /app/cors', () => {
  it('starts empty, replaces the list, drops repeats', async () => {
    const fresh = await createTestApp();
    expect(await json<CorsSettings>(await fresh.call('GET', '/app/cors'))).toEqual({ allowed_origins: [] });
    await fresh.close();
    const res = await t.call('PUT', '/app/cors', { allowed_origins: [ALLOWED, 'http://localhost:3000', ALLOWED] });
    expect(await json<CorsSettings>(res)).toEqual({ allowed_origins: [ALLOWED, 'http://localhost:3000'] });
    expect(await json<CorsSettings>(await t.call('GET', '/app/cors'))).toEqual({ allowed_origins: [ALLOWED, 'http://localhost:3000'] });
    const { rows } = await t.db.pool.query("SELECT summary FROM audit_events WHERE action = 'app.cors_updated' AND app_id = $1", [t.appId]);
    expect(rows.at(-1)).toEqual({ summary: { allowed_origins: [ALLOWED, 'http://localhost:3000'] } });
  });

  it.each([
    ['a path', 'https://app.example.com/inbox'],
    ['a trailing slash', 'https://app.example.com/'],
    ['a wildcard', 'https://*.example.com'],
    ['everything', '*'],
    ['upper case', 'https://App.example.com'],
    ['a default port', 'https://app.example.com:443'],
    ['another scheme', 'ftp://app.example.com'],
    ['"null"', 'null'],
  ])('refuses an origin with %s (422), keeping the list', async (_, origin) => {
    const res = await t.call('PUT', '/app/cors', { allowed_origins: [ALLOWED, origin] });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details).toEqual([{ path: 'allowed_origins.1', message: expect.stringMatching(/must be an origin/) }]);
    expect((await json<CorsSettings>(await t.call('GET', '/app/cors'))).allowed_origins).toContain(ALLOWED);
  });
});

describe('CORS on the user-token routes', () => {
  beforeAll(async () => {
    expect((await t.call('PUT', '/app/cors', { allowed_origins: [ALLOWED] })).status).toBe(200);
  });

  it('answers the preflight of an allowed origin, before any credentials', async () => {
    for (const [path, method] of [
      ['/users/cors-user/inbox', 'GET'],
      ['/users/cors-user/inbox/stream', 'GET'],
      [`/users/cors-user/inbox/${crypto.randomUUID()}/archive`, 'POST'],
      [`/users/cors-user/inbox/${crypto.randomUUID()}`, 'DELETE'],
      ['/users/cors-user/preferences', 'POST'],
    ] as const) {
      const res = await preflight(path, ALLOWED, method);
      expect(res.status).toBe(204);
      expect(Object.fromEntries(res.headers)).toMatchObject({
        'access-control-allow-origin': ALLOWED,
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': 'Authorization, Content-Type, Last-Event-ID',
        'access-control-max-age': '600',
        vary: 'Origin',
      });
    }
  });

  it('refuses the preflight of an origin no app allows (403, no CORS headers)', async () => {
    const res = await preflight('/users/cors-user/inbox', UNKNOWN);
    expect(res.status).toBe(403);
    expect((await json<ErrorJson>(res)).error.code).toBe('forbidden');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("allows a token's request from its app's origin", async () => {
    const res = await fromBrowser('GET', '/users/cors-user/inbox', ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-expose-headers')).toBe('X-Request-Id, Retry-After');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it("refuses a token's request from an origin only another app allows (403, no CORS headers), and it changes nothing", async () => {
    // The preflight passes (another app allows the origin); the token's app decides.
    expect((await preflight('/users/cors-user/preferences', OTHERS, 'POST')).status).toBe(204);
    const res = await t.call('POST', '/users/cors-user/preferences', { channels: { email: false } }, { origin: OTHERS, authorization: `Bearer ${token}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect((await t.db.pool.query("SELECT 1 FROM preferences WHERE user_id = 'cors-user'")).rowCount).toBe(0);
  });

  it('lets the page read a 401 for a bad token, so it knows to mint another', async () => {
    const res = await fromBrowser('GET', '/users/cors-user/inbox', ALLOWED, `${token.slice(0, -2)}xx`);
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const unknown = await fromBrowser('GET', '/users/cors-user/inbox', UNKNOWN, `${token.slice(0, -2)}xx`);
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('needs no CORS for same-origin pages or clients without a browser', async () => {
    const same = await t.call('GET', '/users/cors-user/inbox', undefined, { origin: 'http://localhost', authorization: `Bearer ${token}` });
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    const mobile = await t.call('GET', '/users/cors-user/inbox', undefined, { authorization: `Bearer ${token}` });
    expect(mobile.status).toBe(200);
  });

  it('gives API-key requests no CORS headers, even from an allowed origin', async () => {
    const res = await fromBrowser('GET', '/users/cors-user/inbox', ALLOWED, t.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('every other route', () => {
  it.each([
    ['GET', '/users/cors-user'],
    ['POST', '/notifications'],
    ['POST', '/users/cors-user/tokens'],
    ['GET', '/app/cors'],
    ['GET', '/health'],
  ])('%s %s answers no CORS headers, to a preflight or a request from an allowed origin', async (method, path) => {
    const pre = await preflight(path, ALLOWED, method);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
    const res = await fromBrowser(method, path, ALLOWED, t.key);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
