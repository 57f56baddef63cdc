import type { Channel } from '@notify/core/platform';
import { createFcmProvider, createSmtpProvider, createTwilioProvider, type Provider } from '@notify/core/channels';
import { getPreferences } from '@notify/core/audience';
import {
  createTestEnv,
  createTlsCertificate,
  fcmError,
  notificationFinished,
  startFakeFcm,
  startFakeTwilio,
  startSmtpTestServer,
  type FakeFcm,
  type FakeTwilio,
  type SmtpTestServer,
  type TestEnv,
} from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';

/**
 * The suppression list end to end: a real provider refuses an address for
 * good (SMTP 550 at RCPT TO, Twilio 21610/21211, FCM UNREGISTERED), the
 * worker records it, and the next delivery to it is skipped as `suppressed`
 * without the provider hearing of it.
 */
let t: TestEnv;
const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(() => t?.close());

let smtp: SmtpTestServer;
let twilio: FakeTwilio;
let fcm: FakeFcm;
const recipients: string[] = [];
const providers: Partial<Record<Channel, Provider>> = {};

beforeAll(async () => {
  t = await createTestEnv();
  smtp = await startSmtpTestServer({
    onRecipient: (address) => {
      recipients.push(address);
      return address.toLowerCase().startsWith('gone') ? { code: 550, message: '5.1.1 No such user here' } : undefined;
    },
  });
  twilio = await startFakeTwilio();
  fcm = await startFakeFcm(await createTlsCertificate(), { projectId: 'demo', accessToken: 'token-1' });
  providers.email = createSmtpProvider({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Shop <shop@example.com>' });
  providers.sms = createTwilioProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+15005550006', baseUrl: twilio.baseUrl });
  providers.push = createFcmProvider({ projectId: 'demo', baseUrl: fcm.origin, accessToken: async () => 'token-1', agent: fcm.agent });
});
afterAll(async () => {
  await Promise.all(Object.values(providers).map((p) => p.close?.()));
  await Promise.all([smtp?.close(), twilio?.close(), fcm?.close()]);
});

function start(channel: Channel) {
  workers.push(createChannelWorker(testWorkerOptions(t, channel, providers[channel]!)));
}
const send = async (userId: string, channel: Channel) =>
  notificationFinished(t.db, (await notifyForTest(t, { user_id: userId, message: 'Your order shipped', channels: [channel] })).id);
const suppressions = (channel: Channel) => t.db.prisma.suppression.findMany({ where: { appId: t.appId, channel } });

describe('suppression list', () => {
  it('suppresses an email address refused with 550 at RCPT TO; the next email is skipped with no SMTP connection', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'bounce-1', email: 'Gone@Example.com' } });
    start('email');

    const first = await send('bounce-1', 'email');
    expect(first.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'smtp_550' });
    expect(await suppressions('email')).toEqual([
      expect.objectContaining({ address: 'gone@example.com', reason: 'hard_bounce', errorCode: 'smtp_550', deliveryId: first.deliveries[0]!.id }),
    ]);

    const connections = smtp.connections.opened;
    const asked = recipients.length;
    const next = await send('bounce-1', 'email');
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'suppressed', attempts: 1 });
    expect(await t.db.prisma.deliveryAttempt.count({ where: { deliveryId: next.deliveries[0]!.id } })).toBe(0);
    expect(smtp.connections.opened).toBe(connections);
    expect(recipients).toHaveLength(asked);
  });

  it('leaves a delivered address alone', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'fine-1', email: 'fine@example.com' } });
    start('email');
    const done = await send('fine-1', 'email');
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered' });
    expect((await suppressions('email')).map((s) => s.address)).not.toContain('fine@example.com');
  });

  it('Twilio 21610 (STOP) suppresses the number and opts the user out of SMS', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'stop-1', phone: '+14155550161' } });
    twilio.failFor('+14155550161', { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    start('sms');

    const first = await send('stop-1', 'sms');
    expect(first.deliveries[0]).toMatchObject({ status: 'failed', lastErrorCode: 'twilio_21610' });
    expect(await suppressions('sms')).toEqual([expect.objectContaining({ address: '+14155550161', reason: 'unsubscribed', errorCode: 'twilio_21610' })]);
    expect((await getPreferences(t.db, t.appId, 'stop-1')).channels).toMatchObject({ sms: false, email: true });

    const requests = twilio.requests;
    const next = await send('stop-1', 'sms');
    // The opt-out is the first reason the claim finds; the suppression would stop it too.
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'opted_out' });
    expect(twilio.requests).toBe(requests);
  });

  it('Twilio 21211 (invalid number) suppresses the number without touching preferences', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'invalid-1', phone: '+14155550211' } });
    twilio.failFor('+14155550211', { status: 400, code: 21211, message: 'Invalid To number' });
    start('sms');

    await send('invalid-1', 'sms');
    expect(await suppressions('sms')).toContainEqual(expect.objectContaining({ address: '+14155550211', reason: 'invalid_address' }));
    expect((await getPreferences(t.db, t.appId, 'invalid-1')).channels.sms).toBe(true);

    const requests = twilio.requests;
    const next = await send('invalid-1', 'sms');
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(twilio.requests).toBe(requests);
  });

  it('an unregistered FCM token: the device is removed and the token suppressed, so registering it again sends nothing', async () => {
    const device = { id: '01a20a00-0000-7000-8000-0000000000f1', kind: 'fcm' as const, token: 'fcm-dead-token' };
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'push-dead', devices: { create: [device] } } });
    fcm.reply(fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.'));
    start('push');

    const first = await send('push-dead', 'push');
    expect(first.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await t.db.prisma.device.count({ where: { userId: 'push-dead' } })).toBe(0);
    expect(await suppressions('push')).toEqual([expect.objectContaining({ address: 'fcm-dead-token', reason: 'unregistered' })]);

    // The app's backend registers the stale token again.
    await t.db.prisma.device.create({ data: { ...device, appId: t.appId, userId: 'push-dead' } });
    const sends = fcm.requests.length;
    const next = await send('push-dead', 'push');
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'suppressed' });
    expect(fcm.requests).toHaveLength(sends);
  });
});
