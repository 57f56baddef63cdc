import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

/** Every row in every table that mentions the user. */
async function rowsAbout(userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const q = async (name: string, sql: string) => {
    counts[name] = (await t.db.pool.query<{ n: number }>(sql, [t.appId, userId])).rows[0]!.n;
  };
  await q('users', 'SELECT count(*)::int AS n FROM users WHERE app_id = $1 AND id = $2');
  await q('devices', 'SELECT count(*)::int AS n FROM devices WHERE app_id = $1 AND user_id = $2');
  await q('preferences', 'SELECT count(*)::int AS n FROM preferences WHERE app_id = $1 AND user_id = $2');
  await q('notifications', 'SELECT count(*)::int AS n FROM notifications WHERE app_id = $1 AND user_id = $2');
  await q('deliveries', 'SELECT count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.app_id = $1 AND n.user_id = $2');
  await q('inbox_items', 'SELECT count(*)::int AS n FROM inbox_items WHERE app_id = $1 AND user_id = $2');
  await q('topic_subscriptions', 'SELECT count(*)::int AS n FROM topic_subscriptions WHERE app_id = $1 AND user_id = $2');
  await q('status_events', 'SELECT count(*)::int AS n FROM status_events WHERE app_id = $1 AND user_id = $2');
  await q('idempotency_keys', `SELECT count(*)::int AS n FROM idempotency_keys WHERE app_id = $1 AND response->>'user_id' = $2`);
  return counts;
}

describe('DELETE /users/{user_id}', () => {
  it('leaves no rows and no jobs for the user, and later notifications send nothing until they are created again', async () => {
    await t.call('PUT', '/users/gone', {
      email: 'gone@example.com',
      phone: '+14155550100',
      devices: [{ kind: 'fcm', token: 'tok-1' }],
    });
    await t.call('POST', '/users/gone/preferences', { channels: { sms: false } });
    await t.call('POST', '/topics/news/subscribers', { user_ids: ['gone', 'stays'] });
    const made: Notification[] = [];
    for (const body of [
      { user_id: 'gone', message: 'Hi', channels: ['email', 'push', 'in_app'] },
      { user_id: 'gone', message: 'Later', channels: ['email'], send_at: new Date(Date.now() + 3_600_000).toISOString() },
    ]) {
      made.push(await json<Notification>(await t.call('POST', '/notifications', body, { 'idempotency-key': `k-${made.length}` })));
    }
    await t.db.prisma.inboxItem.create({
      data: { id: '01a20a00-0000-7000-8000-0000000000aa', appId: t.appId, userId: 'gone', notificationId: made[0]!.id, deliveryId: made[0]!.deliveries[2]!.id, body: 'Hi' },
    });
    const jobs = made.flatMap((n) => n.deliveries.filter((d) => d.status === 'queued'));
    expect(jobs.length).toBe(4);
    for (const d of jobs) expect(await t.queues[d.channel].getJob(d.id)).toBeDefined();
    expect(Object.values(await rowsAbout('gone')).some((n) => n > 0)).toBe(true);

    const res = await t.call('DELETE', '/users/gone');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ user_id: 'gone', notifications: 2, deliveries: 4, inbox_items: 1, jobs_removed: 4 });

    expect(await rowsAbout('gone')).toEqual({
      users: 0,
      devices: 0,
      preferences: 0,
      notifications: 0,
      deliveries: 0,
      inbox_items: 0,
      topic_subscriptions: 0,
      status_events: 0,
      idempotency_keys: 0,
    });
    for (const d of jobs) expect(await t.queues[d.channel].getJob(d.id)).toBeUndefined();
    expect((await t.call('GET', '/users/gone')).status).toBe(404);
    expect(await t.db.prisma.topicSubscription.count({ where: { userId: 'stays' } })).toBe(1);

    // Nothing goes out to the erased id, not even the inbox...
    const after = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'gone', message: 'x', channels: ['in_app'], category: 'security' }));
    expect(after.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'erased' });
    // ...until the user is created again.
    await t.call('PUT', '/users/gone', { email: 'back@example.com' });
    const back = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'gone', message: 'x', channels: ['in_app'] }));
    expect(back.deliveries[0]!.status).toBe('queued');
  });

  it('is idempotent: erasing an unknown user answers zeros', async () => {
    const res = await t.call('DELETE', '/users/never-seen');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ notifications: 0, deliveries: 0 });
  });
});
