import { deliveryJobOptions, type Channel } from '@notify/core/platform';
import { eraseUser, putUser, quietHoursEnd, setPreferences } from '@notify/core/audience';
import { createSimulatedProvider, type Provider } from '@notify/core/channels';
import type { PutUserBody } from '@notify/core/schemas';
import { createTestEnv, notificationFinished, waitFor, type TestEnv } from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';

// Consent at send time: a delivery that waited (send_at, quiet hours) is sent
// only if the user still agrees when a worker takes it. Nothing here waits for
// a clock: a scheduled job is promoted by hand, as if its send_at had come.

let t: TestEnv;
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestEnv();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(Object.values(t.queues).map((q) => q.obliterate({ force: true })));
});
afterAll(() => t?.close());

/** A provider that counts what it is asked to send, by delivery id. */
function counting() {
  const sent: string[] = [];
  const inner = createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false });
  const provider: Provider = {
    name: 'counting',
    channels: ['email', 'sms', 'push', 'in_app', 'webhook'],
    send(envelope, ctx) {
      sent.push(ctx.deliveryId);
      return inner.send(envelope, ctx);
    },
  };
  return { provider, sent };
}

function startWorkers(provider: Provider, channels: Channel[]) {
  for (const channel of channels) workers.push(createChannelWorker(testWorkerOptions(t, channel, provider)));
}

const user = (id: string, body: PutUserBody) => putUser(t.db, t.appId, id, body, { allowedHosts: new Set() });
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const notify = (input: Record<string, unknown>) => notifyForTest(t, { message: 'Hello', send_at: inAnHour(), ...input });
const deliveries = (notificationId: string) => t.db.prisma.delivery.findMany({ where: { notificationId }, orderBy: { channel: 'asc' } });

/** Its send_at has come: the delayed job runs now. */
async function fire(channel: Channel, deliveryId: string) {
  const job = await t.queues[channel].getJob(deliveryId);
  expect(await job?.getState()).toBe('delayed');
  await job!.promote();
}

async function fireAll(notificationId: string) {
  for (const d of await deliveries(notificationId)) await fire(d.channel, d.id);
}

/** A fixed-offset zone whose local hour is `hour` right now (Etc/GMT-N is UTC+N). */
function zoneWhereItIs(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24;
  if (offset > 12) offset -= 24;
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

const NIGHT = { start: '22:00', end: '07:00' };

describe('consent checked again when the worker takes the delivery', () => {
  it('skips a scheduled delivery the user opted out of before send_at, channel-wide or for its category: the provider is never called', async () => {
    await user('opt-1', { email: 'opt@example.com', phone: '+14155550101' });
    const n = await notify({ user_id: 'opt-1', channels: ['email', 'sms'], category: 'marketing' });
    expect((await deliveries(n.id)).map((d) => d.status)).toEqual(['queued', 'queued']);

    // Tonight the user opts out: of marketing email, and of SMS altogether.
    await setPreferences(t.db, t.appId, 'opt-1', { channels: { sms: false }, categories: { marketing: { email: false } } });
    const { provider, sent } = counting();
    startWorkers(provider, ['email', 'sms']);
    await fireAll(n.id);

    const done = await notificationFinished(t.db, n.id);
    expect(done.status).toBe('skipped');
    expect(done.skippedCount).toBe(2);
    expect(done.deliveries.map((d) => [d.channel, d.status, d.reason]).sort()).toEqual([
      ['email', 'skipped', 'opted_out'],
      ['sms', 'skipped', 'opted_out'],
    ]);
    expect(sent).toEqual([]);
    expect(await t.db.prisma.deliveryAttempt.count({ where: { deliveryId: { in: done.deliveries.map((d) => d.id) } } })).toBe(0);
  });

  it('still delivers a required category after the user opted out of it, and a category opt-in wins over a channel-wide opt-out', async () => {
    await user('opt-2', { email: 'req@example.com' });
    const alert = await notify({ user_id: 'opt-2', channels: ['email'], category: 'security', message: 'New login' });
    const receipt = await notify({ user_id: 'opt-2', channels: ['email'], category: 'transactional', message: 'Your receipt' });
    const promo = await notify({ user_id: 'opt-2', channels: ['email'], category: 'marketing', message: 'Sale' });

    // Email off, except receipts; the security opt-out is stored but cannot apply.
    await setPreferences(t.db, t.appId, 'opt-2', { channels: { email: false }, categories: { security: false, transactional: { email: true } } });
    const { provider, sent } = counting();
    startWorkers(provider, ['email']);
    for (const n of [alert, receipt, promo]) await fireAll(n.id);

    expect((await notificationFinished(t.db, alert.id)).deliveries[0]).toMatchObject({ status: 'delivered', provider: 'counting' });
    expect((await notificationFinished(t.db, receipt.id)).deliveries[0]).toMatchObject({ status: 'delivered' });
    expect((await notificationFinished(t.db, promo.id)).deliveries[0]).toMatchObject({ status: 'skipped', reason: 'opted_out' });
    expect(sent).toHaveLength(2);
  });

  it('never sends a delivery waiting in quiet hours once the user is erased', async () => {
    await user('gone-1', { email: 'gone@example.com', timezone: zoneWhereItIs(2), quiet_hours: NIGHT });
    const { provider, sent } = counting();
    startWorkers(provider, ['email']);
    const n = await notifyForTest(t, { user_id: 'gone-1', channels: ['email'], message: 'Good morning' });
    const [waiting] = await deliveries(n.id);
    expect(waiting).toMatchObject({ status: 'queued' });
    expect(waiting!.scheduledFor!.getTime()).toBeGreaterThan(Date.now());

    const erased = await eraseUser({ db: t.db, queues: t.queues }, t.appId, 'gone-1');
    expect(erased).toMatchObject({ notifications: 1, deliveries: 1, jobs_removed: 1 });
    expect(await t.queues.email.getJob(waiting!.id)).toBeUndefined();

    // A job erasure could not remove (a worker held it) runs to nothing: its row is gone.
    const again = await t.queues.email.add(
      'deliver',
      { delivery_id: waiting!.id, notification_id: n.id, channel: 'email' },
      // Kept once completed (deliveries are not), so that its result can be read here.
      { ...deliveryJobOptions(waiting!.id, 'normal', { attempts: 1, baseDelayMs: 100 }), removeOnComplete: false },
    );
    const result = await waitFor(async () => ((await again.getState()) === 'completed' ? (await t.queues.email.getJob(waiting!.id))?.returnvalue : undefined), 10_000, 'the job');
    expect(result).toEqual({ outcome: 'already_finished' });
    expect(sent).toEqual([]);
  });

  it('skips with user_erased a delivery whose notification was written while the user was being erased', async () => {
    await user('gone-2', { email: 'gone2@example.com' });
    const n = await notify({ user_id: 'gone-2', channels: ['email'] });
    // What erasure leaves when a notification commits after its delete ran: the tombstone, no user row.
    await t.db.pool.query('DELETE FROM users WHERE app_id = $1 AND id = $2', [t.appId, 'gone-2']);
    await t.db.pool.query('INSERT INTO erased_users (app_id, user_id) VALUES ($1, $2)', [t.appId, 'gone-2']);
    const { provider, sent } = counting();
    startWorkers(provider, ['email']);
    await fireAll(n.id);

    const done = await notificationFinished(t.db, n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'user_erased' });
    expect(sent).toEqual([]);
  });

  it('skips with no_contact a delivery whose contact was removed before send_at', async () => {
    await user('nc-1', { email: 'nc@example.com', phone: '+14155550102' });
    const n = await notify({ user_id: 'nc-1', channels: ['email', 'sms'] });
    await user('nc-1', { email: null });
    const { provider, sent } = counting();
    startWorkers(provider, ['email', 'sms']);
    await fireAll(n.id);

    const done = await notificationFinished(t.db, n.id);
    expect(done.deliveries.map((d) => [d.channel, d.status, d.reason]).sort()).toEqual([
      ['email', 'skipped', 'no_contact'],
      ['sms', 'delivered', null],
    ]);
    expect(sent).toEqual([done.deliveries.find((d) => d.channel === 'sms')!.id]);
  });

  it('holds again a delivery that fires inside quiet hours after the user moved time zone, and sends it once they end', async () => {
    // Afternoon where the user lives when it is scheduled: nothing holds it then.
    await user('tz-1', { email: 'tz@example.com', timezone: zoneWhereItIs(13), quiet_hours: NIGHT });
    const n = await notify({ user_id: 'tz-1', channels: ['email'] });
    const [scheduled] = await deliveries(n.id);
    expect(scheduled).toMatchObject({ status: 'queued' });

    // They fly to where it is 2 a.m. now.
    const night = zoneWhereItIs(2);
    await user('tz-1', { timezone: night });
    const morning = quietHoursEnd(new Date(), NIGHT, night)!;
    const { provider, sent } = counting();
    startWorkers(provider, ['email']);
    await fire('email', scheduled!.id);

    const held = await waitFor(
      async () => {
        const d = await t.db.prisma.delivery.findUniqueOrThrow({ where: { id: scheduled!.id } });
        const state = await (await t.queues.email.getJob(scheduled!.id))?.getState();
        return d.scheduledFor?.getTime() === morning.getTime() && state === 'delayed' ? d : undefined;
      },
      10_000,
      'the delivery held until morning',
    );
    expect(held).toMatchObject({ status: 'queued', attempts: 0 });
    const job = await t.queues.email.getJob(scheduled!.id);
    // 2 a.m. there: the window ends at 7, hours away, not in a moment.
    expect(job!.delay).toBeGreaterThan(4 * 3_600_000 - 60_000);
    expect(sent).toEqual([]);

    // Morning comes (back home, outside the window): the held job runs and goes out.
    await user('tz-1', { timezone: zoneWhereItIs(13) });
    await fire('email', scheduled!.id);
    const done = await notificationFinished(t.db, n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(sent).toEqual([scheduled!.id]);
  });
});
