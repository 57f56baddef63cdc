import { recordRetentionRun, type RetentionStatus } from '@notify/core/retention';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type TestApp } from './testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

it('GET /admin/retention needs the admin credentials; an API key is not enough', async () => {
  expect((await t.call('GET', '/admin/retention', undefined, { authorization: '' })).status).toBe(401);
  expect((await t.call('GET', '/admin/retention')).status).toBe(401);
});

it('answers no run and no notification on a fresh install, then the last run as the worker recorded it and the oldest notification kept', async () => {
  const admin = { authorization: adminHeader };
  expect(await json<RetentionStatus>(await t.call('GET', '/admin/retention', undefined, admin))).toEqual({ last_run: null, oldest_notification_at: null });

  const first = await json<{ id: string }>(await t.call('POST', '/notifications', { user_id: 'r1', message: 'hi', channels: ['in_app'] }));
  await t.call('POST', '/notifications', { user_id: 'r2', message: 'hi', channels: ['in_app'] });
  const days = { notifications: 30, statusEvents: 7, auditEvents: 365 };
  await recordRetentionRun(t.redis, t.env.QUEUE_PREFIX, days, { notifications: 12, inboxItems: 3, statusEvents: 4, auditEvents: 0, batches: 2, more: true }, 1234.4);

  const status = await json<RetentionStatus>(await t.call('GET', '/admin/retention', undefined, admin));
  expect(status.last_run).toMatchObject({
    duration_ms: 1234,
    days: { notifications: 30, status_events: 7, audit_events: 365 },
    removed: { notifications: 12, inbox_items: 3, status_events: 4, audit_events: 0 },
    more: true,
  });
  const { rows } = await t.db.pool.query<{ created_at: Date }>('SELECT created_at FROM notifications WHERE id = $1', [first.id]);
  expect(status.oldest_notification_at).toBe(rows[0]!.created_at.toISOString());
});
