import { finishDelivery } from '@notify/core/deliveries';
import type { Batch, Notification, Pause, Preferences } from '@notify/core/schemas';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type TestApp } from '../testing/test-app.js';

// Each audited change writes its audit event in its own transaction: when the
// insert of the event fails, the change is rolled back with it. The failure is
// forced by a trigger in this test file's schema only, refusing the events
// listed in audit_refusals.

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: 'hooks.test' });
  const schema = t.env.DATABASE_SCHEMA;
  await t.db.pool.query(`CREATE TABLE audit_refusals (action text NOT NULL, target_id text)`);
  await t.db.pool.query(`
    CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql SET search_path = "${schema}" AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM audit_refusals r WHERE r.action = NEW.action AND (r.target_id IS NULL OR r.target_id = NEW.target_id)) THEN
        RAISE EXCEPTION 'audit event % % refused by the test', NEW.action, NEW.target_id;
      END IF;
      RETURN NEW;
    END $$`);
  await t.db.pool.query('CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()');
});
afterAll(() => t?.close());
beforeEach(async () => {
  await t.db.pool.query('DELETE FROM audit_refusals');
});

/** Makes the audit insert of `action` (on `targetId`, or any target) fail. */
const refuse = (action: string, targetId: string | null = null) => t.db.pool.query('INSERT INTO audit_refusals (action, target_id) VALUES ($1, $2)', [action, targetId]);
const statusOf = async (deliveryId: string) => (await t.db.prisma.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status;

/** The request failed, and left no audit event. */
async function failsWith500(res: Promise<Response>, action: string) {
  const r = await res;
  expect(r.status, action).toBe(500);
  expect(await t.db.prisma.auditEvent.count({ where: { requestId: r.headers.get('x-request-id') } }), action).toBe(0);
}

describe('a refused audit insert rolls its change back', () => {
  it('templates, categories, pauses, topics and webhooks (Prisma transactions)', async () => {
    await refuse('template.created', 'doomed');
    await failsWith500(t.call('POST', '/templates', { key: 'doomed', locales: { en: { sms: { text: 'Hi' } } } }), 'template.created');
    expect((await t.call('GET', '/templates/doomed')).status).toBe(404);

    expect((await t.call('POST', '/templates', { key: 'kept', locales: { en: { sms: { text: 'Hi' } } } })).status).toBe(201);
    await refuse('template.updated', 'kept');
    await failsWith500(t.call('PUT', '/templates/kept', { locales: { en: { sms: { text: 'Changed' } } } }), 'template.updated');
    expect(await json<{ latest_version: number }>(await t.call('GET', '/templates/kept'))).toMatchObject({ latest_version: 1 });

    await refuse('template.paused', 'kept');
    await failsWith500(t.call('POST', '/templates/kept/pause'), 'template.paused');
    await refuse('app.paused');
    await failsWith500(t.call('POST', '/app/pause'), 'app.paused');
    expect((await json<{ data: Pause[] }>(await t.call('GET', '/app/pauses'))).data).toEqual([]);

    await refuse('category.updated', 'doomed');
    await failsWith500(t.call('PUT', '/categories/doomed', { frequency_cap: { count: 3, period: '1d' } }), 'category.updated');
    const categories = await json<{ data: { key: string }[] }>(await t.call('GET', '/categories'));
    expect(categories.data.map((c) => c.key)).not.toContain('doomed');

    await refuse('topic.subscribed', 'doomed');
    await failsWith500(t.call('POST', '/topics/doomed/subscribers', { user_ids: ['u-1'] }), 'topic.subscribed');
    expect((await t.call('GET', '/topics/doomed')).status).toBe(404);

    await refuse('webhook.created');
    await failsWith500(t.call('POST', '/webhooks', { url: 'https://hooks.test/x' }), 'webhook.created');
    expect((await json<{ data: unknown[] }>(await t.call('GET', '/webhooks'))).data).toEqual([]);
  });

  it('users, preferences and keys', async () => {
    await refuse('user.updated', 'u-doomed');
    await failsWith500(t.call('PUT', '/users/u-doomed', { email: 'doomed@example.com' }), 'user.updated');
    expect((await t.call('GET', '/users/u-doomed')).status).toBe(404);

    expect((await t.call('PUT', '/users/u-kept', { email: 'kept@example.com' })).status).toBe(201);
    await refuse('preferences.updated', 'u-kept');
    await failsWith500(t.call('POST', '/users/u-kept/preferences', { channels: { email: false } }), 'preferences.updated');
    expect((await json<Preferences>(await t.call('GET', '/users/u-kept/preferences'))).channels.email).toBe(true);

    const key = await json<{ id: string; key: string }>(await t.call('POST', '/keys', { name: 'kept' }));
    await refuse('key.revoked', key.id);
    await failsWith500(t.call('DELETE', `/keys/${key.id}`), 'key.revoked');
    // Not revoked: the key still works.
    expect((await t.call('GET', '/keys', undefined, { authorization: `Bearer ${key.key}` })).status).toBe(200);

    await refuse('key.created');
    await failsWith500(t.call('POST', '/keys', { name: 'doomed' }), 'key.created');
    expect(await t.db.prisma.apiKey.count({ where: { name: 'doomed' } })).toBe(0);
  });

  it('erasure, cancels and replays (SQL transactions)', async () => {
    expect((await t.call('PUT', '/users/u-erase', { locale: 'en' })).status).toBe(201);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'u-erase', message: 'x', channels: ['in_app'], send_at: later }));
    await refuse('user.erased', 'u-erase');
    await failsWith500(t.call('DELETE', '/users/u-erase'), 'user.erased');
    expect((await t.call('GET', '/users/u-erase')).status).toBe(200);
    expect((await t.call('GET', `/notifications/${n.id}`)).status).toBe(200);

    const waiting = await statusOf(n.deliveries[0]!.id);
    await refuse('notification.cancelled', n.id);
    await failsWith500(t.call('POST', `/notifications/${n.id}/cancel`), 'notification.cancelled');
    expect(await statusOf(n.deliveries[0]!.id)).toBe(waiting);
    expect(waiting).not.toBe('cancelled');

    const failed = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'u-erase', message: 'x', channels: ['in_app'] }));
    const deliveryId = failed.deliveries[0]!.id;
    await finishDelivery(t.db.pool, deliveryId, { status: 'failed', provider: 'inbox', errorCode: 'boom', errorMessage: 'x' });
    await refuse('delivery.replayed', deliveryId);
    await failsWith500(t.call('POST', `/deliveries/${deliveryId}/retry`), 'delivery.replayed');
    await failsWith500(t.call('POST', '/deliveries/retry', { error_code: 'boom' }), 'delivery.replayed');
    expect(await statusOf(deliveryId)).toBe('failed');
    expect(await t.db.prisma.deliveryReplay.count({ where: { deliveryId } })).toBe(0);

    const batch = await json<Batch>(await t.call('POST', '/notifications/bulk', { message: 'x', channels: ['in_app'], recipients: [{ user_id: 'b-1' }, { user_id: 'b-2' }] }));
    await refuse('batch.cancelled', batch.id);
    await failsWith500(t.call('POST', `/batches/${batch.id}/cancel`), 'batch.cancelled');
    const after = await json<Batch>(await t.call('GET', `/batches/${batch.id}`));
    expect(after).toMatchObject({ status: 'created', deliveries: { cancelled: 0 } });
  });

  it('an admin channel pause (Redis): the queue is not paused', async () => {
    await refuse('channel.paused', 'email');
    await failsWith500(t.call('POST', '/admin/channels/email/pause', undefined, { authorization: adminHeader }), 'channel.paused');
    expect(await t.queues.email.isPaused()).toBe(false);
  });
});
