import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULL_BOARD_CSP } from './bull-board.js';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from './testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const admin = { authorization: adminHeader };
const get = (path: string, method = 'GET') => t.app.request(path, { method, headers: admin });

/** The page's own assets: every `src` and `href`, resolved against its base href. */
function assets(html: string): string[] {
  const base = /<base href="([^"]+)"/.exec(html)?.[1];
  expect(base).toBe('/admin/queues/');
  return [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)]
    .map((m) => m[1]!)
    .filter((u) => u !== base)
    .map((u) => new URL(u, `http://x${base}`).pathname);
}

describe('Bull Board', () => {
  it.each(['/admin/queues', '/admin/queues/'])('%s answers the page, and every asset it names answers 200', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const urls = assets(html);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect([url, (await get(url)).status]).toEqual([url, 200]);
  });

  it('with or without the trailing slash, its API lists the queues and a deep link answers the page', async () => {
    for (const path of ['/admin/queues/api/queues', '/admin/queues/api/queues/']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect((await json<{ queues: { name: string }[] }>(res)).queues.map((q) => q.name)).toContain('notify.email');
    }
    for (const path of ['/admin/queues/queue/notify.email', '/admin/queues/queue/notify.email/']) {
      expect((await get(path)).headers.get('content-type')).toMatch(/^text\/html/);
    }
    expect((await get('/admin/queues/', 'HEAD')).status).toBe(200);
  });

  it('shows every queue: the channels, fan-outs, status events, workflow steps and schedules', async () => {
    const names = (await json<{ queues: { name: string }[] }>(await get('/admin/queues/api/queues'))).queues.map((q) => q.name);
    expect(names.sort()).toEqual(
      ['notify.email', 'notify.sms', 'notify.push', 'notify.in_app', 'notify.webhook', 'notify.fanout', 'notify.events', 'notify.workflows', 'notify.schedules'].sort(),
    );
  });

  it('names nothing outside the service and tells the browser to load nothing from elsewhere', async () => {
    for (const path of ['/admin/queues', '/admin/queues/']) {
      const res = await get(path);
      const html = await res.text();
      expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
      expect(html).not.toContain('fonts.googleapis.com');
      expect(res.headers.get('content-security-policy')).toBe(BULL_BOARD_CSP);
    }
    expect((await get('/admin/queues/api/queues')).headers.get('content-security-policy')).toBe(BULL_BOARD_CSP);
  });

  it('still needs the admin password, slash or not, and an unknown board path is the usual 404', async () => {
    for (const path of ['/admin/queues/', '/admin/queues/api/queues/']) expect((await t.app.request(path)).status).toBe(401);
    const res = await get('/admin/queues/nothing-here/');
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
  });
});
