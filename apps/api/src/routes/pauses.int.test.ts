import { createTemplate } from '@notify/core/content';
import { TemplateBody, type Category, type Pause } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await createTemplate(t.db, t.appId, 'welcome', TemplateBody.parse({ locales: { en: { email: { subject: 'Hi', text: 'Hello' } } } }));
});
afterAll(() => t?.close());

const admin = { authorization: adminHeader };

describe('pause and resume', () => {
  it('pauses and resumes a template, a category and the app, idempotently, and lists what is paused', async () => {
    const paused = await t.call('POST', '/templates/welcome/pause');
    expect(paused.status).toBe(200);
    expect(await json<Pause>(paused)).toMatchObject({ kind: 'template', key: 'welcome', paused: true });
    expect((await t.call('POST', '/templates/welcome/pause')).status).toBe(200);
    expect(await json<Pause>(await t.call('POST', '/categories/marketing/pause'))).toMatchObject({ kind: 'category', key: 'marketing', paused: true });
    expect(await json<Pause>(await t.call('POST', '/app/pause'))).toMatchObject({ kind: 'app', key: null, paused: true });

    const list = await json<{ data: Pause[] }>(await t.call('GET', '/app/pauses'));
    expect(list.data.map((p) => [p.kind, p.key])).toEqual([
      ['app', null],
      ['category', 'marketing'],
      ['template', 'welcome'],
    ]);

    for (const path of ['/templates/welcome/resume', '/categories/marketing/resume', '/app/resume', '/app/resume']) {
      const res = await t.call('POST', path);
      expect(res.status, path).toBe(200);
      expect(await json<Pause>(res)).toMatchObject({ paused: false, paused_at: null });
    }
    expect((await json<{ data: Pause[] }>(await t.call('GET', '/app/pauses'))).data).toEqual([]);
  });

  it('answers 404 for an unknown template or category, and 401 without a key', async () => {
    expect((await json<ErrorJson>(await t.call('POST', '/templates/nope/pause'))).error.code).toBe('not_found');
    expect((await t.call('POST', '/categories/nope/pause')).status).toBe(404);
    expect((await t.call('POST', '/app/pause', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
  });
});

describe('frequency caps', () => {
  it('PUT /categories/{name} takes a cap and reads it back; null removes it', async () => {
    const res = await t.call('PUT', '/categories/promos', { frequency_cap: { count: 3, period: '1d' } });
    expect(res.status).toBe(200);
    expect(await json<Category>(res)).toMatchObject({ key: 'promos', required: false, frequency_cap: { count: 3, period: '1d' } });
    const listed = await json<{ data: Category[] }>(await t.call('GET', '/categories'));
    expect(listed.data.find((c) => c.key === 'promos')?.frequency_cap).toEqual({ count: 3, period: '1d' });
    expect(listed.data.find((c) => c.key === 'security')?.frequency_cap).toBeNull();
    expect(await json<Category>(await t.call('PUT', '/categories/promos', { frequency_cap: null }))).toMatchObject({ frequency_cap: null });
  });

  it('refuses a cap on a required category (422), and a malformed cap', async () => {
    const res = await t.call('PUT', '/categories/alerts', { required: true, frequency_cap: { count: 3, period: '1d' } });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details).toEqual([{ path: 'frequency_cap', message: 'a required category cannot have a frequency cap' }]);
    for (const cap of [{ count: 0, period: '1d' }, { count: 3, period: 'daily' }, { count: 3, period: '40d' }, { count: 3 }]) {
      expect((await t.call('PUT', '/categories/promos', { frequency_cap: cap })).status, JSON.stringify(cap)).toBe(422);
    }
  });
});

describe('channel queues (operators)', () => {
  it('pause and resume a whole channel queue with the admin credentials only', async () => {
    expect((await t.call('POST', '/admin/channels/sms/pause')).status).toBe(401);
    const res = await t.call('POST', '/admin/channels/sms/pause', undefined, admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ channel: 'sms', paused: true });
    expect(await t.queues.sms.isPaused()).toBe(true);
    const states = await json<{ data: { channel: string; paused: boolean }[] }>(await t.call('GET', '/admin/channels', undefined, admin));
    expect(states.data.find((s) => s.channel === 'sms')?.paused).toBe(true);
    expect(await json<{ paused: boolean }>(await t.call('POST', '/admin/channels/sms/resume', undefined, admin))).toEqual({ channel: 'sms', paused: false });
    expect(await t.queues.sms.isPaused()).toBe(false);
    expect((await t.call('POST', '/admin/channels/fax/pause', undefined, admin)).status).toBe(404);
  });

  it('the dashboard button pauses from our own page, and a cross-site request is refused', async () => {
    const crossSite = await t.call('POST', '/dashboard/api/channels/email/pause', undefined, { ...admin, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect((await t.call('POST', '/admin/channels/email/pause', undefined, { ...admin, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await t.queues.email.isPaused()).toBe(false);
    const res = await t.call('POST', '/dashboard/api/channels/email/pause', undefined, { ...admin, 'sec-fetch-site': 'same-origin' });
    expect(await res.json()).toEqual({ channel: 'email', paused: true });
    const live = await json<{ queues: { channel: string; paused: boolean }[] }>(await t.call('GET', '/dashboard/api/live', undefined, admin));
    expect(live.queues.find((q) => q.channel === 'email')?.paused).toBe(true);
    await t.call('POST', '/dashboard/api/channels/email/resume', undefined, { ...admin, 'sec-fetch-site': 'same-origin' });
    expect(await t.queues.email.isPaused()).toBe(false);
  });
});
