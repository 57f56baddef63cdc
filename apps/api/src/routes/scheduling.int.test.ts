import type { Notification, User } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('send_at', () => {
  it('holds every delivery until send_at: the job waits in BullMQ as a delayed job', async () => {
    await t.call('PUT', '/users/s-1', { email: 's@example.com' });
    const at = new Date(Date.now() + 60 * 60_000);
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 's-1', message: 'later', channels: ['email', 'in_app'], send_at: at.toISOString() }));
    expect(n.send_at).toBe(at.toISOString());
    for (const d of n.deliveries) {
      expect(d.scheduled_for).toBe(at.toISOString());
      const job = await t.queues[d.channel].getJob(d.id);
      expect(await job?.getState()).toBe('delayed');
      expect(job!.opts.delay!).toBeGreaterThan(59 * 60_000);
    }
  });

  it('is cancelled before it fires: jobs removed, nothing left to send', async () => {
    const n = await json<Notification>(
      await t.call('POST', '/notifications', { user_id: 's-1', message: 'later', channels: ['in_app'], send_at: new Date(Date.now() + 60_000).toISOString() }),
    );
    const cancelled = await json<Notification>(await t.call('POST', `/notifications/${n.id}/cancel`));
    expect(cancelled.status).toBe('cancelled');
    expect(await t.queues.in_app.getJob(n.deliveries[0]!.id)).toBeUndefined();
  });

  it('sends at once when send_at is already past, and refuses one over a year ahead (422)', async () => {
    const past = await json<Notification>(await t.call('POST', '/notifications', { user_id: 's-1', message: 'x', channels: ['in_app'], send_at: '2020-01-01T00:00:00Z' }));
    expect(past.deliveries[0]!.scheduled_for).toBeNull();
    const far = await t.call('POST', '/notifications', { user_id: 's-1', message: 'x', channels: ['in_app'], send_at: new Date(Date.now() + 400 * 86_400_000).toISOString() });
    expect(far.status).toBe(422);
    expect((await json<ErrorJson>(far)).error.details?.[0]?.path).toBe('send_at');
  });
});

/** HH:MM on Kiritimati's clock (UTC+14 all year, no daylight saving) at `ms`. */
const kiritimati = (ms: number) => new Date(ms + 14 * 3_600_000).toISOString().slice(11, 16);
// A window from an hour ago to an hour from now, local time: "now" is always inside it, and it ends at a known minute.
const windowAt = Date.now();
const quiet = { start: kiritimati(windowAt - 3_600_000), end: kiritimati(windowAt + 3_600_000) };
const windowEnd = new Date(Math.floor((windowAt + 3_600_000) / 60_000) * 60_000).toISOString();

describe('quiet hours', () => {
  it('are set on the user (HH:MM) and validated', async () => {
    const u = await json<User>(await t.call('PUT', '/users/q-1', { email: 'q@example.com', phone: '+14155550100', timezone: 'Pacific/Kiritimati', quiet_hours: quiet }));
    expect(u.quiet_hours).toEqual(quiet);
    expect((await t.call('PUT', '/users/q-1', { quiet_hours: { start: '25:00', end: '07:00' } })).status).toBe(422);
  });

  it('delay email/SMS/push to the end of the window, not in-app, and not critical', async () => {
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'q-1', message: 'x', channels: ['email', 'sms', 'in_app'] }));
    const [email, sms, inApp] = n.deliveries;
    expect(email!.scheduled_for).toBe(windowEnd);
    expect(sms!.scheduled_for).toBe(email!.scheduled_for);
    expect(inApp!.scheduled_for).toBeNull();
    expect(await (await t.queues.email.getJob(email!.id))?.getState()).toBe('delayed');
    const critical = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'q-1', message: 'x', channels: ['email'], priority: 'critical' }));
    expect(critical.deliveries[0]!.scheduled_for).toBeNull();
    expect(await (await t.queues.email.getJob(critical.deliveries[0]!.id))?.getState()).toBe('prioritized');
  });
});
