import { finishDelivery } from '@notify/core/deliveries';
import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const admin = { authorization: adminHeader };

describe('/dashboard', () => {
  it('needs admin credentials, not an API key', async () => {
    for (const path of ['/dashboard', '/dashboard/api/apps', `/dashboard/api/overview?app=${t.appId}`]) {
      expect((await t.call('GET', path)).status).toBe(401);
      expect((await t.call('GET', path, undefined, admin)).status).toBe(200);
    }
  });

  it('serves its page and assets from here (no CDN)', async () => {
    const html = await (await t.call('GET', '/dashboard', undefined, admin)).text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['/dashboard/assets/dashboard.js', '/dashboard/assets/dashboard.css', '/dashboard/assets/chart.umd.min.js']) {
      expect((await t.call('GET', asset, undefined, admin)).status, asset).toBe(200);
    }
  });

  it('asks for an app, and answers 404 for an unknown one', async () => {
    const none = await t.call('GET', '/dashboard/api/overview', undefined, admin);
    expect(none.status).toBe(400);
    expect((await json<ErrorJson>(none)).error.code).toBe('invalid_request');
    expect((await t.call('GET', '/dashboard/api/overview?app=nope', undefined, admin)).status).toBe(404);
    const apps = await json<{ data: { id: string }[] }>(await t.call('GET', '/dashboard/api/apps', undefined, admin));
    expect(apps.data.map((a) => a.id)).toContain(t.appId);
  });

  it('replays a failed delivery from the failed list', async () => {
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'd-1', message: 'x', channels: ['in_app'] }));
    const id = n.deliveries[0]!.id;
    await finishDelivery(t.db.pool, id, { status: 'failed', provider: 'inbox', errorCode: 'boom', errorMessage: 'x' });
    const failed = await json<{ data: { id: string }[] }>(await t.call('GET', `/dashboard/api/failed?app=${t.appId}&error_code=boom`, undefined, admin));
    expect(failed.data.map((d) => d.id)).toEqual([id]);
    const res = await t.call('POST', `/dashboard/api/deliveries/${id}/replay?app=${t.appId}`, undefined, admin);
    expect(res.status).toBe(200);
    expect(await json<{ status: string }>(res)).toMatchObject({ status: 'queued' });
    expect(await t.queues.in_app.getJob(id)).toBeDefined();
  });

  it('shows live queue depth and a timeline', async () => {
    const live = await json<{ queues: { channel: string }[] }>(await t.call('GET', '/dashboard/api/live', undefined, admin));
    expect(live.queues.map((q) => q.channel)).toEqual(['email', 'sms', 'push', 'in_app', 'webhook']);
    const timeline = await json<{ data: { user_id: string }[] }>(await t.call('GET', `/dashboard/api/timeline?app=${t.appId}&q=d-1`, undefined, admin));
    expect(timeline.data[0]!.user_id).toBe('d-1');
  });
});
