import { serve } from '@hono/node-server';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createKey, ensureApp, revokeKey } from '@notify/core/access';
import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { ADMIN, adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const noKey = { authorization: '' };

describe('API keys', () => {
  it.each([
    ['POST', '/notifications'],
    ['GET', '/notifications/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241'],
    ['POST', '/notifications/bulk'],
    ['GET', '/users/u1'],
    ['PUT', '/users/u1'],
    ['DELETE', '/users/u1'],
    ['GET', '/users/u1/inbox'],
    ['GET', '/deliveries'],
    ['GET', '/templates'],
    ['GET', '/categories'],
    ['GET', '/topics/news'],
    ['GET', '/batches/x'],
    ['GET', '/keys'],
    ['GET', '/webhooks'],
  ])('%s %s answers 401 without a key, in the error shape', async (method, path) => {
    const res = await t.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, noKey);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect((await json<ErrorJson>(res)).error.code).toBe('unauthorized');
  });

  it('answers 401 for a key that does not exist or is malformed', async () => {
    for (const authorization of ['Bearer nk_live_nope', 'Bearer ', 'Basic abc', `Bearer ${t.key}x`]) {
      expect((await t.call('GET', '/categories', undefined, { authorization })).status).toBe(401);
    }
  });

  it('stores keys only as a hash', async () => {
    const rows = await t.db.prisma.apiKey.findMany();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(r)).not.toContain(t.key);
    }
  });

  it('stops a revoked key at once, on this replica and on another one that had it cached', async () => {
    const { id, key } = await createKey(t.db, t.appId, 'short-lived');
    const other = createApp(t.deps);
    const headers = { authorization: `Bearer ${key}` };
    expect((await t.call('GET', '/categories', undefined, headers)).status).toBe(200);
    expect((await other.request('/categories', { headers })).status).toBe(200);
    const res = await t.call('DELETE', `/keys/${id}`);
    expect(res.status).toBe(204);
    expect((await t.call('GET', '/categories', undefined, headers)).status).toBe(401);
    // The other replica hears of it on Redis within moments.
    const started = Date.now();
    while ((await other.request('/categories', { headers })).status !== 401) {
      expect(Date.now() - started).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it('revokes through the same path the CLI uses', async () => {
    const { id, key } = await createKey(t.db, t.appId);
    const headers = { authorization: `Bearer ${key}` };
    expect((await t.call('GET', '/keys', undefined, headers)).status).toBe(200);
    await revokeKey(t.db, t.redis, id);
    const started = Date.now();
    while ((await t.call('GET', '/keys', undefined, headers)).status !== 401) {
      expect(Date.now() - started).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 5));
    }
  });

  it('creates and lists keys for the calling app, never showing a key twice', async () => {
    const created = await t.call('POST', '/keys', { name: 'ci' });
    expect(created.status).toBe(201);
    const { key, prefix } = await json<{ key: string; prefix: string }>(created);
    expect(key).toMatch(/^nk_live_[A-Za-z0-9_-]{32}$/);
    const list = await json<{ data: { prefix: string }[] }>(await t.call('GET', '/keys'));
    expect(list.data.map((k) => k.prefix)).toContain(prefix);
    expect(JSON.stringify(list)).not.toContain(key);
  });
});

describe('tenancy', () => {
  it("answers 404 for another app's ids and never shows its data", async () => {
    const otherApp = await ensureApp(t.db, 'other-tenant');
    const other = (await createKey(t.db, otherApp)).key;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    await t.call('PUT', '/users/shared-id', { email: 'mine@example.com' });
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'shared-id', message: 'secret', channels: ['email'] }));
    await t.call('POST', '/templates', { key: 'private', locales: { en: { sms: { text: 'x' } } } });

    expect((await t.call('GET', `/notifications/${n.id}`, undefined, as(other))).status).toBe(404);
    expect((await t.call('POST', `/notifications/${n.id}/cancel`, undefined, as(other))).status).toBe(404);
    expect((await t.call('GET', `/deliveries/${n.deliveries[0]!.id}`, undefined, as(other))).status).toBe(404);
    expect((await t.call('POST', `/deliveries/${n.deliveries[0]!.id}/retry`, undefined, as(other))).status).toBe(404);
    expect((await t.call('GET', '/users/shared-id', undefined, as(other))).status).toBe(404);
    expect((await t.call('GET', '/templates/private', undefined, as(other))).status).toBe(404);
    const list = await json<{ data: unknown[] }>(await t.call('GET', '/users/shared-id/notifications', undefined, as(other)));
    expect(list.data).toEqual([]);
    // The same user id in the other app is another user.
    const theirs = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'shared-id', message: 'x', channels: ['email'] }, as(other)));
    expect(theirs.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'no_contact' });
  });
});

describe('operator pages', () => {
  it.each(['/admin/queues', '/admin/queues/api/queues', '/metrics'])('%s answers 401 without admin credentials', async (path) => {
    for (const authorization of ['', `Bearer ${t.key}`, `Basic ${Buffer.from(`${ADMIN.user}:wrong`).toString('base64')}`]) {
      const res = await t.call('GET', path, undefined, { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    }
    expect((await t.call('GET', path, undefined, { authorization: adminHeader })).status).toBe(200);
  });

  it('locks operator pages when no admin password is configured', async () => {
    const locked = createApp({ ...t.deps, security: { ...t.deps.security, admin: { user: 'admin', password: '' } } });
    const res = await locked.request('/metrics', { headers: { authorization: `Basic ${Buffer.from('admin:').toString('base64')}` } });
    expect(res.status).toBe(401);
    expect((await json<ErrorJson>(res)).error.message).toMatch(/ADMIN_PASSWORD/);
  });

  it('keeps /health, /ready, /docs and /openapi.json public', async () => {
    for (const path of ['/health', '/ready', '/docs', '/openapi.json']) expect((await t.call('GET', path, undefined, noKey)).status).toBe(200);
  });

  it('exposes HTTP and queue metrics in Prometheus format', async () => {
    await t.call('GET', '/categories');
    const text = await (await t.call('GET', '/metrics', undefined, { authorization: adminHeader })).text();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/categories",status="200"\} \d+/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{/);
    expect(text).toMatch(/notify_queue_jobs\{queue="notify.email",state="waiting"\} \d+/);
    expect(text).toContain('# TYPE notify_deliveries_total counter');
    expect(text).toContain('# TYPE notify_accept_to_delivered_seconds histogram');
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After past the per-key rate', async () => {
    const limited = await createTestApp({ RATE_LIMIT_PER_SECOND: '5' });
    try {
      // All eight at once, so they fall in one one-second window however slow the machine is.
      const answers = await Promise.all(Array.from({ length: 8 }, () => limited.call('GET', '/categories')));
      const statuses = answers.map((res) => res.status);
      let retryAfter: string | null = null;
      for (const res of answers) {
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          expect((await json<ErrorJson>(res)).error.code).toBe('rate_limited');
        }
      }
      expect(statuses.filter((s) => s === 200).length).toBe(5);
      expect(statuses.filter((s) => s === 429).length).toBe(3);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('answers 413 for a body over the limit, before parsing it, and writes nothing', async () => {
    const small = await createTestApp({ MAX_BODY_BYTES: '2048' });
    try {
      const before = await small.db.prisma.notification.count();
      const res = await small.call('POST', '/notifications', { user_id: 'u', message: 'x'.repeat(5000), channels: ['in_app'] });
      expect(res.status).toBe(413);
      expect((await json<ErrorJson>(res)).error.code).toBe('payload_too_large');
      expect(await small.db.prisma.notification.count()).toBe(before);
    } finally {
      await small.close();
    }
  });

  it('over real HTTP, judges a declared Content-Length and counts a chunked body', async () => {
    const small = await createTestApp({ MAX_BODY_BYTES: '2048' });
    const server = serve({ fetch: small.app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notifications`;
    const headers = { authorization: `Bearer ${small.key}`, 'content-type': 'application/json' };
    const body = (message: string) => JSON.stringify({ user_id: 'u', message, channels: ['in_app'] });
    try {
      const before = await small.db.prisma.notification.count();
      const declared = await fetch(url, { method: 'POST', headers, body: body('x'.repeat(5000)) });
      expect(declared.status).toBe(413);
      expect((await json<ErrorJson>(declared)).error.code).toBe('payload_too_large');
      const chunked = await fetch(url, { method: 'POST', headers, body: Readable.toWeb(Readable.from([body('x'.repeat(5000))])) as ReadableStream, duplex: 'half' } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(await small.db.prisma.notification.count()).toBe(before);

      const fits = await fetch(url, { method: 'POST', headers, body: body('fits') });
      expect(fits.status).toBe(202);
      const fitsChunked = await fetch(url, { method: 'POST', headers, body: Readable.toWeb(Readable.from([body('fits too')])) as ReadableStream, duplex: 'half' } as RequestInit);
      expect(fitsChunked.status).toBe(202);
      expect(await small.db.prisma.notification.count()).toBe(before + 2);
    } finally {
      server.close();
      server.closeAllConnections();
      await small.close();
    }
  });
});
