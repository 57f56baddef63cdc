import { createKey, ensureApp, hashKey } from '@notify/core/access';
import { finishDelivery } from '@notify/core/deliveries';
import type { AuditEvent, AuditEventPage, Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type TestApp } from '../testing/test-app.js';

// Every change made through the API leaves one audit event naming the key (or
// the admin), the request, the target and what changed, never personal data.

let t: TestApp;
let keyId: string;
const EMAIL = 'audited.person@example.com';
const PHONE = '+14155550123';
const SECRET_TEXT = 'the secret message body';
const HOOK_URL = 'https://hooks.test/private-token-123';

beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: 'hooks.test' });
  keyId = (await t.db.prisma.apiKey.findUniqueOrThrow({ where: { hash: hashKey(t.key) } })).id;
});
afterAll(() => t?.close());

/** The one event a request with this request id recorded. */
async function eventOf(res: Response): Promise<AuditEvent> {
  const requestId = res.headers.get('x-request-id');
  const rows = await t.db.prisma.auditEvent.findMany({ where: { requestId } });
  expect(rows, `events of request ${requestId}`).toHaveLength(1);
  const page = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_id=${encodeURIComponent(rows[0]!.targetId)}&limit=100`));
  const event = page.data.find((e) => e.request_id === requestId);
  expect(event).toBeDefined();
  return event!;
}

describe('audit events: one per change', () => {
  it('records each kind of change with the key, the request id, the target and a summary', async () => {
    const run = async (res: Promise<Response>, expected: Partial<AuditEvent>) => {
      const r = await res;
      expect(r.status, `${expected.action}`).toBeLessThan(300);
      const event = await eventOf(r);
      expect(event).toMatchObject({ actor_type: 'key', actor_id: keyId, request_id: r.headers.get('x-request-id'), ...expected });
      return event;
    };

    const created = await run(t.call('PUT', '/users/a-1', { email: EMAIL, phone: PHONE, locale: 'en' }), { action: 'user.updated', target_type: 'user', target_id: 'a-1' });
    expect(created.summary).toEqual({ created: true, fields: ['email', 'locale', 'phone'] });

    const prefs = await run(t.call('POST', '/users/a-1/preferences', { channels: { sms: false } }), { action: 'preferences.updated', target_type: 'user', target_id: 'a-1' });
    expect(prefs.summary).toEqual({ channels: { sms: false } });

    const category = await run(t.call('PUT', '/categories/billing', { description: 'Invoices', required: true }), {
      action: 'category.updated',
      target_type: 'category',
      target_id: 'billing',
    });
    expect(category.summary).toMatchObject({ required: true });

    const template = { key: 'audited', default_locale: 'en', locales: { en: { email: { subject: 'Hello', text: SECRET_TEXT } } } };
    const tc = await run(t.call('POST', '/templates', template), { action: 'template.created', target_type: 'template', target_id: 'audited' });
    expect(tc.summary).toEqual({ version: 1, fields: ['default_locale', 'locales'] });
    const { key: _k, ...body } = template;
    const tu = await run(t.call('PUT', '/templates/audited', body), { action: 'template.updated', target_type: 'template', target_id: 'audited' });
    expect(tu.summary).toMatchObject({ version: 2 });

    const hookRes = await t.call('POST', '/webhooks', { url: HOOK_URL, events: ['delivery.failed'] });
    const hook = await json<{ id: string }>(hookRes.clone());
    const hc = await run(Promise.resolve(hookRes), { action: 'webhook.created', target_type: 'webhook', target_id: hook.id });
    expect(hc.summary).toEqual({ events: ['delivery.failed'] });
    await run(t.call('DELETE', `/webhooks/${hook.id}`), { action: 'webhook.deleted', target_type: 'webhook', target_id: hook.id });

    const keyRes = await t.call('POST', '/keys', { name: 'ci' });
    const key = await json<{ id: string }>(keyRes.clone());
    const kc = await run(Promise.resolve(keyRes), { action: 'key.created', target_type: 'key', target_id: key.id });
    expect(kc.summary).toMatchObject({ name: 'ci' });
    await run(t.call('DELETE', `/keys/${key.id}`), { action: 'key.revoked', target_type: 'key', target_id: key.id });

    const later = new Date(Date.now() + 3_600_000).toISOString();
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'a-1', message: SECRET_TEXT, channels: ['in_app'], send_at: later }));
    await run(t.call('POST', `/notifications/${n.id}/cancel`), { action: 'notification.cancelled', target_type: 'notification', target_id: n.id });

    const m = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'a-1', message: SECRET_TEXT, channels: ['in_app'] }));
    const deliveryId = m.deliveries[0]!.id;
    await finishDelivery(t.db.pool, deliveryId, { status: 'failed', provider: 'inbox', errorCode: 'boom', errorMessage: 'x' });
    await run(t.call('POST', `/deliveries/${deliveryId}/retry`), { action: 'delivery.replayed', target_type: 'delivery', target_id: deliveryId });

    const sub = await run(t.call('POST', '/topics/news/subscribers', { user_ids: ['a-1'] }), { action: 'topic.subscribed', target_type: 'topic', target_id: 'news' });
    expect(sub.summary).toEqual({ added: 1 });

    const before = await json<AuditEventPage>(await t.call('GET', '/audit-events?target_type=user&target_id=a-1'));
    expect(before.data.map((e) => e.action)).toEqual(['preferences.updated', 'user.updated']);
    const erased = await run(t.call('DELETE', '/users/a-1'), { action: 'user.erased', target_type: 'user', target_id: 'a-1' });
    expect(erased.summary).toEqual({ notifications: 2, deliveries: 2, inbox_items: 0, status_events: 0, workflow_runs: 0, schedules: 0 });
    // The erasure removes the user's data, not the record of what was done to it.
    const after = await json<AuditEventPage>(await t.call('GET', '/audit-events?target_type=user&target_id=a-1'));
    expect(after.data.map((e) => e.action)).toEqual(['user.erased', 'preferences.updated', 'user.updated']);

    // No row anywhere in the log carries a contact, the message text or the webhook URL.
    const all = JSON.stringify(await t.db.prisma.auditEvent.findMany({ where: { appId: t.appId } }));
    for (const personal of [EMAIL, PHONE, SECRET_TEXT, HOOK_URL, 'private-token-123']) expect(all).not.toContain(personal);
  });

  it('records a replay from the admin dashboard with the admin as actor', async () => {
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'a-2', message: 'x', channels: ['in_app'] }));
    const id = n.deliveries[0]!.id;
    await finishDelivery(t.db.pool, id, { status: 'failed', provider: 'inbox', errorCode: 'boom', errorMessage: 'x' });
    const res = await t.call('POST', `/dashboard/api/deliveries/${id}/replay?app=${t.appId}`, undefined, { authorization: adminHeader });
    expect(res.status).toBe(200);
    const page = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_id=${id}`));
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({
      actor_type: 'admin',
      actor_id: 'admin',
      action: 'delivery.replayed',
      target_type: 'delivery',
      request_id: res.headers.get('x-request-id'),
    });
  });

  it('a failed change records nothing', async () => {
    const before = await t.db.prisma.auditEvent.count();
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'a-3', message: 'x', channels: ['in_app'] }));
    await finishDelivery(t.db.pool, n.deliveries[0]!.id, { status: 'delivered', provider: 'inbox' });
    const refused: [string, string, unknown, number][] = [
      ['PUT', '/users/a-3', { email: 'not-an-email' }, 422],
      ['POST', '/templates', { key: 'broken', locales: { en: { sms: { text: 'Hi {% if x %}' } } } }, 422],
      ['PUT', '/categories/capped', { required: true, frequency_cap: { count: 3, period: '1d' } }, 422],
      ['DELETE', '/keys/00000000-0000-7000-8000-000000000000', undefined, 404],
      ['PUT', '/templates/nope', { locales: { en: { sms: { text: 'Hi' } } } }, 404],
      ['POST', '/templates/nope/pause', undefined, 404],
      ['POST', '/categories/nope/resume', undefined, 404],
      ['DELETE', '/webhooks/00000000-0000-7000-8000-000000000000', undefined, 404],
      ['POST', `/notifications/${n.id}/cancel`, undefined, 409],
      ['POST', `/deliveries/${n.deliveries[0]!.id}/retry`, undefined, 409],
      ['POST', '/batches/00000000-0000-7000-8000-000000000000/cancel', undefined, 404],
    ];
    for (const [method, path, body, status] of refused) expect((await t.call(method, path, body)).status, `${method} ${path}`).toBe(status);
    const admin = { authorization: adminHeader };
    expect((await t.call('POST', '/admin/channels/fax/pause', undefined, admin)).status).toBe(404);
    expect(await t.db.prisma.auditEvent.count()).toBe(before);
  });

  it('records a frequency cap set on a category', async () => {
    const res = await t.call('PUT', '/categories/digest', { frequency_cap: { count: 3, period: '1d' } });
    expect((await eventOf(res)).summary).toEqual({ required: false, frequency_cap: { count: 3, period: '1d' } });
  });
});

describe('audit events: pauses, resumes and cancels', () => {
  it('records template, category and app pauses and resumes, listed with filters', async () => {
    await t.call('POST', '/templates', { key: 'paused-one', locales: { en: { sms: { text: 'Hi' } } } });
    const start = new Date().toISOString();
    const steps: [string, Partial<AuditEvent>][] = [
      ['/templates/paused-one/pause', { action: 'template.paused', target_type: 'template', target_id: 'paused-one' }],
      ['/templates/paused-one/resume', { action: 'template.resumed', target_type: 'template', target_id: 'paused-one' }],
      ['/categories/marketing/pause', { action: 'category.paused', target_type: 'category', target_id: 'marketing' }],
      ['/categories/marketing/resume', { action: 'category.resumed', target_type: 'category', target_id: 'marketing' }],
      ['/app/pause', { action: 'app.paused', target_type: 'app', target_id: t.appId }],
      ['/app/resume', { action: 'app.resumed', target_type: 'app', target_id: t.appId }],
    ];
    for (const [path, expected] of steps) {
      const res = await t.call('POST', path);
      expect(res.status, path).toBe(200);
      expect(await eventOf(res)).toMatchObject({ actor_type: 'key', actor_id: keyId, request_id: res.headers.get('x-request-id'), ...expected });
    }
    const paused = await json<AuditEventPage>(await t.call('GET', `/audit-events?action=template.paused&from=${start}`));
    expect(paused.data.map((e) => e.target_id)).toEqual(['paused-one']);
    const byTarget = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_type=category&target_id=marketing&from=${start}`));
    expect(byTarget.data.map((e) => e.action)).toEqual(['category.resumed', 'category.paused']);
    expect((await t.call('GET', '/audit-events?action=template.deleted')).status).toBe(422);
  });

  it('records a batch cancel with how it stopped, and no second event for a cancel that stops nothing', async () => {
    const recipients = Array.from({ length: 3 }, (_, i) => ({ user_id: `b-${i}` }));
    const batch = await json<{ id: string }>(await t.call('POST', '/notifications/bulk', { message: SECRET_TEXT, channels: ['in_app'], recipients }));
    const res = await t.call('POST', `/batches/${batch.id}/cancel`);
    expect(res.status).toBe(200);
    expect(await eventOf(res)).toMatchObject({
      actor_type: 'key',
      actor_id: keyId,
      action: 'batch.cancelled',
      target_type: 'batch',
      target_id: batch.id,
      summary: { fanout_stopped: false },
    });
    expect((await t.call('POST', `/batches/${batch.id}/cancel`)).status).toBe(409);
    const listed = await json<AuditEventPage>(await t.call('GET', `/audit-events?action=batch.cancelled&target_id=${batch.id}`));
    expect(listed.data).toHaveLength(1);
  });

  it("records a channel pause by the admin in the operators' log, which no app's log shows", async () => {
    const admin = { authorization: adminHeader };
    const start = new Date().toISOString();
    const paused = await t.call('POST', '/admin/channels/sms/pause', undefined, admin);
    expect(paused.status).toBe(200);
    const resumed = await t.call('POST', '/dashboard/api/channels/sms/resume', undefined, { ...admin, 'sec-fetch-site': 'same-origin' });
    expect(resumed.status).toBe(200);
    expect(await t.queues.sms.isPaused()).toBe(false);

    const ops = await json<AuditEventPage>(await t.call('GET', `/admin/audit-events?target_type=channel&from=${start}`, undefined, admin));
    expect(ops.data).toMatchObject([
      { actor_type: 'admin', actor_id: 'admin', action: 'channel.resumed', target_type: 'channel', target_id: 'sms', request_id: resumed.headers.get('x-request-id') },
      { actor_type: 'admin', actor_id: 'admin', action: 'channel.paused', target_type: 'channel', target_id: 'sms', request_id: paused.headers.get('x-request-id') },
    ]);
    const filtered = await json<AuditEventPage>(await t.call('GET', `/admin/audit-events?action=channel.paused&from=${start}&limit=1`, undefined, admin));
    expect(filtered.data.map((e) => e.action)).toEqual(['channel.paused']);
    // No app's key reads them, and the operators' log holds no app's events.
    expect((await json<AuditEventPage>(await t.call('GET', '/audit-events?target_type=channel'))).data).toEqual([]);
    expect((await json<AuditEventPage>(await t.call('GET', '/admin/audit-events?target_type=template', undefined, admin))).data).toEqual([]);
    expect((await t.call('GET', '/admin/audit-events')).status).toBe(401);
    expect((await t.call('GET', '/admin/audit-events?from=yesterday', undefined, admin)).status).toBe(422);
  });
});

describe('GET /audit-events', () => {
  it('filters by action, target, actor and time, and pages newest first with a cursor', async () => {
    const start = new Date().toISOString();
    for (let i = 0; i < 5; i++) await t.call('PUT', `/categories/page-${i}`, { description: `c${i}` });
    await t.call('PUT', '/users/page-user', { locale: 'en' });

    const first = await json<AuditEventPage>(await t.call('GET', `/audit-events?action=category.updated&from=${start}&limit=2`));
    expect(first.data.map((e) => e.target_id)).toEqual(['page-4', 'page-3']);
    expect(first.next_cursor).not.toBeNull();
    const second = await json<AuditEventPage>(await t.call('GET', `/audit-events?action=category.updated&from=${start}&limit=2&cursor=${first.next_cursor}`));
    expect(second.data.map((e) => e.target_id)).toEqual(['page-2', 'page-1']);
    const third = await json<AuditEventPage>(await t.call('GET', `/audit-events?action=category.updated&from=${start}&limit=2&cursor=${second.next_cursor}`));
    expect(third.data.map((e) => e.target_id)).toEqual(['page-0']);
    expect(third.next_cursor).toBeNull();

    const byTarget = await json<AuditEventPage>(await t.call('GET', '/audit-events?target_type=user&target_id=page-user'));
    expect(byTarget.data.map((e) => e.action)).toEqual(['user.updated']);
    const byActor = await json<AuditEventPage>(await t.call('GET', `/audit-events?actor_id=${keyId}&from=${start}&limit=100`));
    expect(byActor.data).toHaveLength(6);
    const byOtherActor = await json<AuditEventPage>(await t.call('GET', '/audit-events?actor_id=someone-else'));
    expect(byOtherActor.data).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await json<AuditEventPage>(await t.call('GET', `/audit-events?from=${future}`))).data).toEqual([]);
    expect((await json<AuditEventPage>(await t.call('GET', `/audit-events?to=${start}&action=category.updated&target_id=page-0`))).data).toEqual([]);
  });

  it('refuses a cursor it did not give out (400) and a malformed time (422)', async () => {
    expect((await t.call('GET', '/audit-events?cursor=not-a-cursor')).status).toBe(400);
    expect((await t.call('GET', '/audit-events?from=yesterday')).status).toBe(422);
  });

  it('has no route that updates or deletes an event', async () => {
    const [event] = (await json<AuditEventPage>(await t.call('GET', '/audit-events?limit=1'))).data;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect((await t.call(method, `/audit-events/${event!.id}`, method === 'DELETE' ? undefined : {})).status).toBe(404);
      expect((await t.call(method, `/admin/audit-events/${event!.id}`, method === 'DELETE' ? undefined : {}, { authorization: adminHeader })).status).toBe(404);
    }
    expect((await t.call('DELETE', '/audit-events')).status).toBe(404);
  });

  it("another app sees none of this app's events, and its own changes only", async () => {
    const other = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'audit-other'), 'other')).key}` };
    const empty = await json<AuditEventPage>(await t.call('GET', '/audit-events?limit=100', undefined, other));
    expect(empty.data).toEqual([]);
    await t.call('PUT', '/categories/theirs', { description: 'x' }, other);
    const theirs = await json<AuditEventPage>(await t.call('GET', '/audit-events?limit=100', undefined, other));
    expect(theirs.data.map((e) => e.target_id)).toEqual(['theirs']);
    const ours = await json<AuditEventPage>(await t.call('GET', '/audit-events?target_id=theirs'));
    expect(ours.data).toEqual([]);
  });
});
