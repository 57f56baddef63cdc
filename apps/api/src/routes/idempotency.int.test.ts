import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectKeyInFlight } from '../testing/key-in-flight.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const body = { user_id: 'i-1', message: 'Your code is 123456', channels: ['in_app'] };
const notificationsOf = (userId: string) => t.db.prisma.notification.count({ where: { userId } });

describe('Idempotency-Key on POST /notifications', () => {
  it('answers a repeat with the first response and Idempotency-Replay, creating nothing', async () => {
    const first = await t.call('POST', '/notifications', body, { 'idempotency-key': 'order-42' });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    const original = await json<Notification>(first);

    // Same body, keys in another order: the same request.
    const again = await t.call('POST', '/notifications', { channels: ['in_app'], message: body.message, user_id: 'i-1' }, { 'idempotency-key': 'order-42' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(await json<Notification>(again)).toEqual(original);
    expect(await notificationsOf('i-1')).toBe(1);
    expect(await t.queues.in_app.getJob(original.deliveries[0]!.id)).toBeDefined();
  });

  it('accepts the key in the body as idempotency_key', async () => {
    const a = await json<Notification>(await t.call('POST', '/notifications', { ...body, user_id: 'i-2', idempotency_key: 'k-body' }));
    const b = await t.call('POST', '/notifications', { ...body, user_id: 'i-2' }, { 'idempotency-key': 'k-body' });
    expect(b.headers.get('idempotency-replay')).toBe('true');
    expect((await json<Notification>(b)).id).toBe(a.id);
    expect(await notificationsOf('i-2')).toBe(1);
  });

  it('refuses the same key with a different body (422) and creates nothing', async () => {
    await t.call('POST', '/notifications', { ...body, user_id: 'i-3' }, { 'idempotency-key': 'k-3' });
    const res = await t.call('POST', '/notifications', { ...body, user_id: 'i-3', message: 'other' }, { 'idempotency-key': 'k-3' });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.code).toBe('idempotency_key_reused');
    expect(await notificationsOf('i-3')).toBe(1);
  });

  it('creates exactly one notification from 50 concurrent requests with one key', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => t.call('POST', '/notifications', { ...body, user_id: 'i-4' }, { 'idempotency-key': 'k-race' })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    const ids = new Set(await Promise.all(responses.filter((r) => r.status === 202).map(async (r) => (await json<Notification>(r)).id)));
    expect(ids.size).toBe(1);
    expect(await notificationsOf('i-4')).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotency-replay') === 'true').length).toBe(statuses.filter((s) => s === 202).length - 1);
  });

  it('answers 409 with Retry-After while the first request with the key is still in flight', async () => {
    const n = await json<Notification>(await t.call('POST', '/notifications', { ...body, user_id: 'i-8' }));
    // The first request, in flight: its claim on the key is written but not committed. It commits only once
    // its window has closed, so the waiting request finds the key neither claimable nor answerable.
    const first = await t.db.pool.connect();
    try {
      await first.query('BEGIN');
      await first.query(
        `INSERT INTO idempotency_keys (app_id, key, request_hash, notification_id, response, expires_at)
         VALUES ($1, 'k-flight', 'h', $2, '{}', now() + interval '1 second')`,
        [t.appId, n.id],
      );
      const pending = t.call('POST', '/notifications', { ...body, user_id: 'i-8' }, { 'idempotency-key': 'k-flight' });
      await expectKeyInFlight(t, first, pending);
    } finally {
      first.release();
    }
    expect(await notificationsOf('i-8')).toBe(1);
  });

  it('scopes keys per app: another app may use the same key', async () => {
    await t.db.prisma.app.create({ data: { id: 'other', name: 'other' } });
    const n = await json<Notification>(await t.call('POST', '/notifications', { ...body, user_id: 'i-5' }, { 'idempotency-key': 'shared' }));
    await t.db.prisma.idempotencyKey.create({
      data: { appId: 'other', key: 'shared-2', requestHash: 'x', notificationId: n.id, response: {}, expiresAt: new Date(Date.now() + 60_000) },
    });
    const res = await t.call('POST', '/notifications', { ...body, user_id: 'i-5' }, { 'idempotency-key': 'shared-2' });
    expect(res.headers.get('idempotency-replay')).toBeNull();
    expect(await notificationsOf('i-5')).toBe(2);
  });

  it('forgets a key after its window: the same key creates a new notification', async () => {
    const first = await json<Notification>(await t.call('POST', '/notifications', { ...body, user_id: 'i-6' }, { 'idempotency-key': 'k-old' }));
    await t.db.prisma.idempotencyKey.updateMany({ where: { key: 'k-old' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const second = await t.call('POST', '/notifications', { ...body, user_id: 'i-6' }, { 'idempotency-key': 'k-old' });
    expect(second.headers.get('idempotency-replay')).toBeNull();
    expect((await json<Notification>(second)).id).not.toBe(first.id);
    expect(await notificationsOf('i-6')).toBe(2);
  });

  it('refuses a malformed key, or a header and body key that differ (422)', async () => {
    for (const [headers, extra] of [
      [{ 'idempotency-key': 'x'.repeat(256) }, {}],
      [{ 'idempotency-key': 'a' }, { idempotency_key: 'b' }],
    ] as const) {
      const res = await t.call('POST', '/notifications', { ...body, user_id: 'i-7', ...extra }, headers);
      expect(res.status).toBe(422);
    }
    expect(await notificationsOf('i-7')).toBe(0);
  });
});
