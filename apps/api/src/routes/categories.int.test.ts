import type { Notification, Preferences } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/cat-1', { email: 'c@example.com', phone: '+14155550100' });
});
afterAll(() => t?.close());

const send = async (body: Record<string, unknown>) =>
  json<Notification>(await t.call('POST', '/notifications', { user_id: 'cat-1', message: 'x', channels: ['email', 'sms'], ...body }));
const fates = (n: Notification) => n.deliveries.map((d) => [d.channel, d.status, d.reason]);

describe('categories and preferences', () => {
  it('lists the built-in categories, security required', async () => {
    const { data } = await json<{ data: { key: string; required: boolean }[] }>(await t.call('GET', '/categories'));
    expect(data.map((c) => [c.key, c.required])).toEqual([
      ['marketing', false],
      ['security', true],
      ['transactional', false],
    ]);
  });

  it('applies a per-category opt-out only to that category, and shows the effective result', async () => {
    const res = await t.call('POST', '/users/cat-1/preferences', { categories: { marketing: { email: false } } });
    expect(res.status).toBe(200);
    const prefs = await json<Preferences>(res);
    expect(prefs.categories.marketing).toEqual({ required: false, channels: { email: false, sms: true, push: true, in_app: true, webhook: true } });
    expect(prefs.channels.email).toBe(true);
    expect(fates(await send({ category: 'marketing' }))).toEqual([
      ['email', 'skipped', 'opted_out'],
      ['sms', 'queued', null],
    ]);
    expect(fates(await send({ category: 'transactional' })).map((f) => f[1])).toEqual(['queued', 'queued']);
  });

  it('a required category ignores opt-outs, both per category and per channel', async () => {
    await t.call('POST', '/users/cat-1/preferences', { channels: { sms: false }, categories: { security: false } });
    const prefs = await json<Preferences>(await t.call('GET', '/users/cat-1/preferences'));
    expect(prefs.channels.sms).toBe(false);
    expect(prefs.categories.security).toEqual({ required: true, channels: { email: true, sms: true, push: true, in_app: true, webhook: true } });
    expect(fates(await send({ category: 'security' })).map((f) => f[1])).toEqual(['queued', 'queued']);
    expect(fates(await send({})).map((f) => f[1])).toEqual(['queued', 'skipped']);
  });

  it('lets an app define its own categories, including required ones', async () => {
    const res = await t.call('PUT', '/categories/billing', { description: 'Invoices', required: true });
    expect(res.status).toBe(200);
    await t.call('POST', '/users/cat-1/preferences', { categories: { billing: { sms: false } } });
    expect(fates(await send({ category: 'billing' })).map((f) => f[1])).toEqual(['queued', 'queued']);
    await t.call('PUT', '/categories/billing', { required: false });
    expect(fates(await send({ category: 'billing' })).map((f) => f[1])).toEqual(['queued', 'skipped']);
  });

  it('refuses an unknown category in a notification or a preference (422), writing nothing', async () => {
    const before = await t.db.prisma.notification.count();
    const res = await t.call('POST', '/notifications', { user_id: 'cat-1', message: 'x', channels: ['email'], category: 'nonsense' });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.[0]?.path).toBe('category');
    expect(await t.db.prisma.notification.count()).toBe(before);
    expect((await t.call('POST', '/users/cat-1/preferences', { categories: { nonsense: false } })).status).toBe(422);
    expect((await t.call('POST', '/users/cat-1/preferences', {})).status).toBe(422);
  });
});
