import type { Batch } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('POST', '/templates', { key: 'welcome', locales: { en: { in_app: { body: 'Welcome {{ name }} to {{ product }}' } } } });
});
afterAll(() => t?.close());

describe('POST /notifications/bulk', () => {
  it('creates one notification per recipient with per-recipient data, and answers the batch', async () => {
    const recipients = Array.from({ length: 1000 }, (_, i) => ({ user_id: `b-${i}`, data: { name: `User ${i}` } }));
    const res = await t.call('POST', '/notifications/bulk', { template: 'welcome', data: { product: 'Notify' }, recipients });
    expect(res.status).toBe(202);
    const batch = await json<Batch>(res);
    expect(batch).toMatchObject({ kind: 'bulk', status: 'created', notifications: 1000, by_status: { pending: 1000 }, deliveries: { queued: 1000 } });
    expect(await t.queues.in_app.count()).toBe(1000);
    const one = await t.db.prisma.notification.findFirstOrThrow({ where: { userId: 'b-42' } });
    expect(one).toMatchObject({ batchId: batch.id, content: { in_app: { body: 'Welcome User 42 to Notify' } } });

    const progress = await json<Batch>(await t.call('GET', `/batches/${batch.id}`));
    expect(progress).toMatchObject({ id: batch.id, notifications: 1000, complete: false });
  });

  it('refuses the whole request when a recipient cannot render the template, naming it (422)', async () => {
    const before = await t.db.prisma.notification.count();
    const res = await t.call('POST', '/notifications/bulk', {
      template: 'welcome',
      data: { product: 'Notify' },
      recipients: [{ user_id: 'x-1', data: { name: 'A' } }, { user_id: 'x-2' }],
    });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.[0]?.path).toBe('recipients.1.template.in_app.body');
    expect(await t.db.prisma.notification.count()).toBe(before);
  });

  it.each([
    ['more than 1,000 recipients', { message: 'x', channels: ['in_app'], recipients: Array.from({ length: 1001 }, (_, i) => ({ user_id: `u${i}` })) }],
    ['no recipients', { message: 'x', channels: ['in_app'], recipients: [] }],
    ['a repeated recipient', { message: 'x', channels: ['in_app'], recipients: [{ user_id: 'a' }, { user_id: 'a' }] }],
    ['no message or template', { channels: ['in_app'], recipients: [{ user_id: 'a' }] }],
  ])('refuses %s (422)', async (_what, body) => {
    expect((await t.call('POST', '/notifications/bulk', body)).status).toBe(422);
  });

  it('answers 404 for an unknown batch', async () => {
    expect((await t.call('GET', '/batches/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241')).status).toBe(404);
    expect((await t.call('GET', '/batches/nope')).status).toBe(404);
  });
});

describe('topics', () => {
  it('subscribes and unsubscribes users, and pages the subscribers', async () => {
    const added = await t.call('POST', '/topics/news/subscribers', { user_ids: ['t-1', 't-2', 't-3', 't-2'] });
    expect(added.status).toBe(200);
    expect(await json<{ subscribers: number; added: number }>(added)).toMatchObject({ key: 'news', subscribers: 3, added: 3 });
    expect(await json<{ added: number }>(await t.call('POST', '/topics/news/subscribers', { user_ids: ['t-1'] }))).toMatchObject({ added: 0, subscribers: 3 });
    const removed = await t.call('DELETE', '/topics/news/subscribers', { user_ids: ['t-3'] });
    expect(await json<{ removed: number; subscribers: number }>(removed)).toMatchObject({ removed: 1, subscribers: 2 });
    const page = await json<{ data: { user_id: string }[]; next_cursor: string | null }>(await t.call('GET', '/topics/news/subscribers?limit=1'));
    expect(page.data.map((s) => s.user_id)).toEqual(['t-1']);
    const next = await json<{ data: { user_id: string }[] }>(await t.call('GET', `/topics/news/subscribers?limit=1&cursor=${page.next_cursor}`));
    expect(next.data.map((s) => s.user_id)).toEqual(['t-2']);
  });

  it('a notification to a topic answers a batch and queues its fan-out', async () => {
    const res = await t.call('POST', '/notifications', { topic: 'news', message: 'Release 2.0', channels: ['in_app'] });
    expect(res.status).toBe(202);
    const batch = await json<Batch>(res);
    expect(batch).toMatchObject({ kind: 'topic', topic: 'news', status: 'creating', notifications: 0 });
    expect(await t.deps.fanout.getJob(batch.id)).toBeDefined();
  });

  it('answers 404 for an unknown topic, and 422 when the template cannot render in some locale', async () => {
    expect((await t.call('POST', '/notifications', { topic: 'nope', message: 'x', channels: ['in_app'] })).status).toBe(404);
    expect((await t.call('GET', '/topics/nope')).status).toBe(404);
    const res = await t.call('POST', '/notifications', { topic: 'news', template: 'welcome', data: { name: 'x' } });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.[0]?.path).toBe('locales.en.template.in_app.body');
  });

  it('refuses more than 1,000 user ids a call (422)', async () => {
    const res = await t.call('POST', '/topics/news/subscribers', { user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) });
    expect(res.status).toBe(422);
  });
});
