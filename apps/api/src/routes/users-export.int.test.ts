import { createKey, ensureApp } from '@notify/core/access';
import { finishDelivery } from '@notify/core/deliveries';
import type { ErrorJson } from '../testing/test-app.js';
import type { Notification, Schedule, UserExport, WorkflowTrigger } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let other: { authorization: string };
beforeAll(async () => {
  t = await createTestApp();
  other = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'export-other'), 'other')).key}` };
});
afterAll(() => t?.close());

describe('GET /users/{user_id}/export', () => {
  it("holds every part of the user's data, and nothing of another user or app", async () => {
    await t.call('PUT', '/users/x-1', { email: 'x1@example.com', phone: '+14155550111', devices: [{ kind: 'fcm', token: 'device-x1' }] });
    await t.call('POST', '/users/x-1/preferences', { channels: { sms: false } });
    await t.call('POST', '/topics/news/subscribers', { user_ids: ['x-1', 'x-2'] });
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'x-1', message: 'hello x1', channels: ['in_app', 'email'] }));
    const email = n.deliveries.find((d) => d.channel === 'email')!;
    await finishDelivery(t.db.pool, email.id, { status: 'failed', provider: 'smtp', errorCode: 'boom', errorMessage: 'x' });
    await t.call('POST', `/deliveries/${email.id}/retry`);
    // The in-app item as the worker would write it.
    const inApp = n.deliveries.find((d) => d.channel === 'in_app')!;
    await t.db.prisma.inboxItem.create({ data: { id: inApp.id, appId: t.appId, userId: 'x-1', notificationId: n.id, deliveryId: inApp.id, body: 'hello x1' } });
    // Someone else's data under this app, and the same user id in another app.
    await t.call('PUT', '/users/x-2', { email: 'x2@example.com' });
    await t.call('POST', '/notifications', { user_id: 'x-2', message: 'hello x2', channels: ['in_app'] });
    await t.call('PUT', '/users/x-1', { email: 'other-app@example.com' }, other);
    await t.call('POST', '/notifications', { user_id: 'x-1', message: 'other app message', channels: ['in_app'] }, other);
    // Workflow runs (the trigger's data is the user's) and the schedules naming the user, alone or among others.
    for (const headers of [undefined, other]) {
      expect((await t.call('POST', '/workflows', { key: 'wait-a-bit', steps: [{ id: 'wait', type: 'delay', duration: '1h' }] }, headers)).status).toBe(201);
    }
    const trigger = async (userIds: string[], data: Record<string, unknown>, headers?: Record<string, string>) =>
      json<WorkflowTrigger>(await t.call('POST', '/workflows/wait-a-bit/trigger', { user_ids: userIds, data }, headers));
    const run = (await trigger(['x-1', 'x-2'], { order: 'x1-order' })).runs.find((r) => r.user_id === 'x-1')!;
    await trigger(['x-2'], { order: 'x2-order' });
    await trigger(['x-1'], { order: 'other-app-order' }, other);
    const hourly = { cron: '0 * * * *', timezone: 'UTC', notification: { message: 'x1 hourly', channels: ['in_app'] } };
    const schedule = async (body: unknown, headers?: Record<string, string>) => json<Schedule>(await t.call('POST', '/schedules', body, headers));
    const alone = await schedule({ ...hourly, target: { user_id: 'x-1' } });
    const group = await schedule({ cron: '0 9 * * *', timezone: 'UTC', target: { workflow: 'wait-a-bit', user_ids: ['x-2', 'x-1'] }, data: { order: 'group' } });
    await schedule({ ...hourly, target: { user_id: 'x-2' }, notification: { message: 'x2 hourly', channels: ['in_app'] } });
    await schedule({ ...hourly, target: { user_id: 'x-1' }, notification: { message: 'other app hourly', channels: ['in_app'] } }, other);

    const res = await t.call('GET', '/users/x-1/export');
    expect(res.status).toBe(200);
    const doc = await json<UserExport>(res);
    expect(doc.user).toMatchObject({ user_id: 'x-1', email: 'x1@example.com', phone: '+14155550111' });
    expect(doc.user.devices.map((d) => d.token)).toEqual(['device-x1']);
    expect(doc.preferences.channels.sms).toBe(false);
    expect(doc.topics.map((s) => s.topic)).toEqual(['news']);
    expect(doc.notifications.map((x) => x.id)).toEqual([n.id]);
    expect(doc.notifications[0]!.message).toBe('hello x1');
    const exported = doc.notifications[0]!.deliveries.find((d) => d.id === email.id)!;
    expect(exported.replays).toHaveLength(1);
    expect(Array.isArray(exported.history)).toBe(true);
    expect(doc.inbox.map((i) => i.id)).toEqual([inApp.id]);
    expect(Array.isArray(doc.status_events)).toBe(true);
    expect(doc.workflow_runs).toEqual([{ id: run.id, workflow_key: 'wait-a-bit', version: 1, status: 'running', data: { order: 'x1-order' }, created_at: expect.any(String) }]);
    expect(doc.schedules.map((s) => s.id)).toEqual([alone.id, group.id]);
    expect(doc.schedules[0]).toMatchObject({ target: { user_id: 'x-1' }, notification: { message: 'x1 hourly' } });

    const text = JSON.stringify(doc);
    for (const foreign of ['x2@example.com', 'hello x2', 'other-app@example.com', 'other app message', 'x2-order', 'other-app-order', 'x2 hourly', 'other app hourly']) {
      expect(text).not.toContain(foreign);
    }
  });

  it('answers 404 for an unknown user, and for a user of another app', async () => {
    const res = await t.call('GET', '/users/nobody/export');
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
    await t.call('PUT', '/users/only-mine', { locale: 'en' });
    expect((await t.call('GET', '/users/only-mine/export', undefined, other)).status).toBe(404);
  });

  it('answers 404 once the user is erased', async () => {
    await t.call('PUT', '/users/gone', { email: 'gone@example.com' });
    await t.call('DELETE', '/users/gone');
    expect((await t.call('GET', '/users/gone/export')).status).toBe(404);
  });
});
