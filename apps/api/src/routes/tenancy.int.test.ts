import { createKey, ensureApp } from '@notify/core/access';
import type { Batch, DeliveryPage, InboxPage, Notification, ReplayResult } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxDeliverer } from '../testing/inbox-delivery.js';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

// Another app's key can neither see nor change this app's data: it gets 404 for
// our ids, empty lists, zero counts, or its own separate data under the same names.
// (security.int.test.ts covers notifications, cancel, one delivery and its retry, users and templates.)

let t: TestApp;
let theirs: { authorization: string };
const mine = (method: string, path: string, body?: unknown) => t.call(method, path, body);
const asOther = (method: string, path: string, body?: unknown) => t.call(method, path, body, theirs);

beforeAll(async () => {
  t = await createTestApp();
  theirs = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'other-tenant'), 'other')).key}` };
  await mine('PUT', '/users/shared-id', { email: 'mine@example.com', phone: '+14155550100' });
  await asOther('PUT', '/users/shared-id', { email: 'theirs@example.com' });
});
afterAll(() => t?.close());

/** One of our notifications whose email delivery has failed for good. */
async function failedDelivery(code: string) {
  const n = await json<Notification>(await mine('POST', '/notifications', { user_id: 'shared-id', message: 'secret', channels: ['email'] }));
  const id = n.deliveries[0]!.id;
  await t.db.prisma.delivery.update({ where: { id }, data: { status: 'failed', failedAt: new Date(), lastErrorCode: code } });
  return id;
}

describe('tenancy: deliveries', () => {
  it("GET /deliveries lists only the caller's deliveries, and GET /deliveries/{id} answers 404 for ours", async () => {
    const ours = await failedDelivery('t-list');
    const other = await json<Notification>(await asOther('POST', '/notifications', { user_id: 'shared-id', message: 'x', channels: ['email'] }));
    const page = await json<DeliveryPage>(await asOther('GET', '/deliveries?limit=100'));
    expect(page.data.map((d) => d.id)).toContain(other.deliveries[0]!.id);
    expect(page.data.map((d) => d.id)).not.toContain(ours);
    expect(page.data.every((d) => d.notification_id === other.id)).toBe(true);
    expect((await json<DeliveryPage>(await asOther('GET', '/deliveries?status=failed'))).data).toEqual([]);
    expect((await asOther('GET', `/deliveries/${ours}`)).status).toBe(404);
    expect((await mine('GET', `/deliveries/${ours}`)).status).toBe(200);
  });

  it('POST /deliveries/retry by filter replays none of ours', async () => {
    const ours = await failedDelivery('t-replay');
    const res = await asOther('POST', '/deliveries/retry', { error_code: 't-replay' });
    expect(res.status).toBe(200);
    expect(await json<ReplayResult>(res)).toEqual({ replayed: 0, delivery_ids: [] });
    expect(await t.db.prisma.delivery.findUniqueOrThrow({ where: { id: ours } })).toMatchObject({ status: 'failed', lastErrorCode: 't-replay' });
    // Our own key replays it: the filter matched, only the tenant differed.
    expect((await json<ReplayResult>(await mine('POST', '/deliveries/retry', { error_code: 't-replay' }))).delivery_ids).toEqual([ours]);
  });
});

describe('tenancy: inbox', () => {
  it('shows none of our items and cannot mark them read', async () => {
    const item = await inboxDeliverer(t)('shared-id', 'secret', { data: {} });
    expect(await json<InboxPage>(await asOther('GET', '/users/shared-id/inbox'))).toMatchObject({ data: [], unread_count: 0 });
    expect(await json<{ unread_count: number }>(await asOther('GET', '/users/shared-id/inbox/unread_count'))).toEqual({ unread_count: 0 });
    expect((await asOther('POST', `/users/shared-id/inbox/${item}/read`)).status).toBe(404);
    expect(await json<{ marked: number }>(await asOther('POST', '/users/shared-id/inbox/read-all'))).toMatchObject({ marked: 0 });
    // Still unread for us.
    const page = await json<InboxPage>(await mine('GET', '/users/shared-id/inbox'));
    expect(page.data.map((i) => [i.id, i.read_at])).toEqual([[item, null]]);
    expect(page.unread_count).toBe(1);
  });
});

describe('tenancy: batches and topics', () => {
  it('GET /batches/{id} answers 404 for our batch', async () => {
    const res = await mine('POST', '/notifications/bulk', { message: 'x', channels: ['in_app'], recipients: [{ user_id: 'shared-id' }] });
    expect(res.status).toBe(202);
    const batch = await json<Batch>(res);
    expect((await asOther('GET', `/batches/${batch.id}`)).status).toBe(404);
    expect((await mine('GET', `/batches/${batch.id}`)).status).toBe(200);
  });

  it('keeps our topic and its subscribers out of reach; the same key is another topic there', async () => {
    await mine('POST', '/topics/t-news/subscribers', { user_ids: ['shared-id', 'u-2'] });
    expect((await asOther('GET', '/topics/t-news')).status).toBe(404);
    expect((await asOther('GET', '/topics/t-news/subscribers')).status).toBe(404);
    expect((await asOther('DELETE', '/topics/t-news/subscribers', { user_ids: ['shared-id'] })).status).toBe(404);
    const created = await json<{ subscribers: number; added: number }>(await asOther('POST', '/topics/t-news/subscribers', { user_ids: ['shared-id'] }));
    expect(created).toMatchObject({ subscribers: 1, added: 1 });
    expect(await json<{ subscribers: number }>(await mine('GET', '/topics/t-news'))).toMatchObject({ subscribers: 2 });
    const page = await json<{ data: { user_id: string }[] }>(await mine('GET', '/topics/t-news/subscribers'));
    expect(page.data.map((s) => s.user_id)).toEqual(['shared-id', 'u-2']);
  });
});

describe('tenancy: users and keys', () => {
  it('DELETE /users/{id} erases nothing of ours (erasure is idempotent: it answers zeros, not 404)', async () => {
    await mine('PUT', '/users/only-mine', { email: 'only@example.com' });
    await mine('POST', '/notifications', { user_id: 'only-mine', message: 'x', channels: ['email'] });
    const res = await asOther('DELETE', '/users/only-mine');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ notifications: 0, deliveries: 0 });
    expect(await json<{ email: string | null }>(await mine('GET', '/users/only-mine'))).toMatchObject({ email: 'only@example.com' });
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: 'only-mine' } })).toBe(1);
    // Erasing their user of the same id leaves ours alone.
    expect(await json<Record<string, unknown>>(await asOther('DELETE', '/users/shared-id'))).toMatchObject({ notifications: 1 });
    expect(await json<{ email: string | null }>(await mine('GET', '/users/shared-id'))).toMatchObject({ email: 'mine@example.com' });
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: 'shared-id' } })).toBeGreaterThan(0);
  });

  it("GET /keys lists only the caller's keys, and DELETE /keys/{id} answers 404 for ours, which keeps working", async () => {
    const { id, prefix, key } = await createKey(t.db, t.appId, 'mine');
    const list = await json<{ data: { id: string; prefix: string }[] }>(await asOther('GET', '/keys'));
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data.map((k) => k.id)).not.toContain(id);
    expect(list.data.map((k) => k.prefix)).not.toContain(prefix);
    expect((await asOther('DELETE', `/keys/${id}`)).status).toBe(404);
    expect((await t.call('GET', '/keys', undefined, { authorization: `Bearer ${key}` })).status).toBe(200);
    expect(await t.db.prisma.apiKey.findUniqueOrThrow({ where: { id } })).toMatchObject({ revokedAt: null });
  });
});
