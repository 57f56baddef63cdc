import type { Channel } from '@notify/core/platform';
import {
  createConsoleProvider,
  createFcmProvider,
  createSmtpProvider,
  createTwilioProvider,
  createWebhookProvider,
  createWebPushProvider,
  ProviderChain,
  type Provider,
} from '@notify/core/channels';
import { newWebhookSecret } from '@notify/core/audience';
import {
  closedPort,
  createSubscriber,
  createTestEnv,
  createTlsCertificate,
  notificationFinished,
  startFakeFcm,
  startFakePushService,
  startFakeTwilio,
  startSmtpTestServer,
  startWebhookReceiver,
  testVapidKeys,
  waitFor,
  type FakeFcm,
  type FakePushService,
  type TestEnv,
} from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';

/**
 * Each channel end to end through a worker, with the real provider speaking to
 * a real local counterpart: what arrives is checked, and so is what the
 * delivery row records.
 */
let t: TestEnv;
const workers: Worker[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  t = await createTestEnv();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(() => t?.close());

function start(channel: Channel, providers: Provider[], breaker = { failureThreshold: 100, cooldownMs: 1000 }): ProviderChain {
  const chain = new ProviderChain(channel, providers, breaker);
  cleanups.push(() => chain.close());
  workers.push(createChannelWorker(testWorkerOptions(t, channel, providers, { chain })));
  return chain;
}

const notify = (userId: string, channels: Channel[], extra: Record<string, unknown> = {}, retry?: { attempts: number; baseDelayMs: number }) =>
  notifyForTest(t, { user_id: userId, message: 'Your order shipped', channels, ...extra }, retry);
const finished = (id: string) => notificationFinished(t.db, id);

describe('email over SMTP', () => {
  it('delivers a real email: subject, text and HTML arrive', async () => {
    const smtp = await startSmtpTestServer();
    cleanups.push(() => smtp.close());
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'mail-1', email: 'ada@example.com' } });
    start('email', [createSmtpProvider({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Shop <shop@example.com>' })]);
    const n = await notify('mail-1', ['email'], { subject: 'Order #42', message: 'Line one\n\nLine <two>' });
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'smtp' });
    expect(smtp.received).toHaveLength(1);
    const { mail, envelope } = smtp.received[0]!;
    expect(envelope.to).toEqual(['ada@example.com']);
    expect(mail.subject).toBe('Order #42');
    expect(mail.text?.trim()).toBe('Line one\n\nLine <two>');
    expect(mail.html).toContain('<p>Line &lt;two&gt;</p>');
    expect(done.deliveries[0]!.providerMessageId).toBe(mail.messageId);
  });

  it('fails over to the next provider while SMTP is down, opens the breaker, and closes it when SMTP is back', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'mail-2', email: 'bob@example.com' } });
    const port = await closedPort();
    const chain = start('email', [createSmtpProvider({ url: `smtp://127.0.0.1:${port}`, from: 'shop@example.com' }), createConsoleProvider()], {
      failureThreshold: 2,
      cooldownMs: 1500,
    });
    for (let i = 0; i < 3; i++) {
      const done = await finished((await notify('mail-2', ['email'])).id);
      expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'console' });
    }
    expect(chain.states().smtp).toBe('open');

    // SMTP comes back on the same port; after the cool-down one trial goes to it and closes the breaker.
    const smtp = await startSmtpTestServer({ port });
    cleanups.push(() => smtp.close());
    await waitFor(async () => (chain.states().smtp === 'half_open' ? true : undefined), 5000, 'half-open');
    const done = await finished((await notify('mail-2', ['email'])).id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'smtp' });
    expect(chain.states().smtp).toBe('closed');
    expect(smtp.received).toHaveLength(1);
  });

  it('fails at once on an SMTP 5xx: one attempt, no retry', async () => {
    const smtp = await startSmtpTestServer({ onRecipient: () => ({ code: 550, message: 'No such user' }) });
    cleanups.push(() => smtp.close());
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'mail-3', email: 'gone@example.com' } });
    start('email', [createSmtpProvider({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'shop@example.com' })]);
    const done = await finished((await notify('mail-3', ['email'])).id);
    expect(done.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'smtp_550' });
  });
});

describe('SMS over Twilio', () => {
  it('sends through the Twilio SDK, and fails at once on 21211 (invalid number)', async () => {
    const twilio = await startFakeTwilio();
    cleanups.push(() => twilio.close());
    twilio.failFor('+15005550001', { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    await t.db.prisma.user.createMany({
      data: [
        { appId: t.appId, id: 'sms-1', phone: '+14155550100' },
        { appId: t.appId, id: 'sms-2', phone: '+15005550001' },
      ],
    });
    start('sms', [createTwilioProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: '+15005550006', baseUrl: twilio.baseUrl })]);
    const ok = await finished((await notify('sms-1', ['sms'])).id);
    expect(ok.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'twilio' });
    expect(twilio.messages.map((m) => [m.to, m.body])).toEqual([['+14155550100', 'Your order shipped']]);
    expect(ok.deliveries[0]!.providerMessageId).toBe(twilio.messages[0]!.sid);
    const bad = await finished((await notify('sms-2', ['sms'])).id);
    expect(bad.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'twilio_21211' });
  });
});

describe('push', () => {
  let service: FakePushService;
  let fcm: FakeFcm;
  let providers: Provider[];
  afterAll(() => Promise.all([service?.close(), fcm?.close()]));
  beforeAll(async () => {
    const tls = await createTlsCertificate();
    service = await startFakePushService(tls);
    fcm = await startFakeFcm(tls, { projectId: 'demo', accessToken: 'token-1' });
    providers = [
      createWebPushProvider({ vapid: testVapidKeys(), agent: service.agent }),
      createFcmProvider({ projectId: 'demo', baseUrl: fcm.origin, accessToken: async () => 'token-1', agent: fcm.agent }),
    ];
  });

  it('sends once per device, and forgets a device the push service says is gone', async () => {
    const [a, b] = [createSubscriber(), createSubscriber()];
    const [endpointA, endpointB] = [service.endpoint(), service.endpoint()];
    await t.db.prisma.user.create({
      data: {
        appId: t.appId,
        id: 'push-1',
        devices: {
          create: [
            { id: '01a20a00-0000-7000-8000-000000000001', kind: 'webpush', token: endpointA, keys: a.keys },
            { id: '01a20a00-0000-7000-8000-000000000002', kind: 'webpush', token: endpointB, keys: b.keys },
            { id: '01a20a00-0000-7000-8000-000000000003', kind: 'fcm', token: 'fcm-token-1' },
          ],
        },
      },
    });
    service.reset();
    // The service answers per request in order; B's subscription has expired.
    service.replyTo(endpointB, { status: 410 });
    start('push', providers);
    const done = await finished((await notify('push-1', ['push'], { subject: 'Shipped' })).id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'webpush,fcm' });
    const toA = service.requests.find((r) => endpointA.endsWith(r.path));
    expect(JSON.parse(a.decrypt(toA!.body).toString())).toMatchObject({ title: 'Shipped', body: 'Your order shipped' });
    const devices = await t.db.prisma.device.findMany({ where: { userId: 'push-1' } });
    expect(devices.map((d) => d.kind).sort()).toEqual(['fcm', 'webpush']);
    expect(devices.map((d) => d.token)).not.toContain(endpointB);
  });

  it('fails the delivery when every device is gone, and removes them all', async () => {
    const sub = createSubscriber();
    const endpoint = service.endpoint();
    await t.db.prisma.user.create({
      data: { appId: t.appId, id: 'push-2', devices: { create: [{ id: '01a20a00-0000-7000-8000-000000000009', kind: 'webpush', token: endpoint, keys: sub.keys }] } },
    });
    service.replyTo(endpoint, { status: 404 });
    start('push', providers);
    const done = await finished((await notify('push-2', ['push'])).id);
    expect(done.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'webpush_gone' });
    expect(await t.db.prisma.device.count({ where: { userId: 'push-2' } })).toBe(0);
    // With no device left, the next push has no contact.
    const next = await notify('push-2', ['push']);
    expect(next.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'no_contact' });
  });
});

describe('webhook', () => {
  it('POSTs a payload the receiver verifies with the standardwebhooks library', async () => {
    const secret = newWebhookSecret();
    const rx = await startWebhookReceiver({ secret });
    cleanups.push(() => rx.close());
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'hook-1', webhookUrl: `${rx.origin}/hooks`, webhookSecret: secret } });
    start('webhook', [createWebhookProvider({ timeoutMs: 2000, allowedHosts: new Set(['127.0.0.1']) })]);
    const n = await notify('hook-1', ['webhook'], { data: { order: 42 } });
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'webhook' });
    expect(rx.requests).toHaveLength(1);
    const r = rx.requests[0]!;
    expect(r.verified).toBe(true);
    expect(r.headers['webhook-id']).toBe(done.deliveries[0]!.id);
    expect(r.payload).toMatchObject({ type: 'notification', data: { notification_id: n.id, user_id: 'hook-1', message: 'Your order shipped', data: { order: 42 } } });
  });

  it('disables an endpoint that answers 410 Gone: later notifications skip it', async () => {
    const secret = newWebhookSecret();
    const rx = await startWebhookReceiver({ secret });
    rx.reply = () => ({ status: 410 });
    cleanups.push(() => rx.close());
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'hook-2', webhookUrl: `${rx.origin}/hooks`, webhookSecret: secret } });
    start('webhook', [createWebhookProvider({ timeoutMs: 2000, allowedHosts: new Set(['127.0.0.1']) })]);
    const done = await finished((await notify('hook-2', ['webhook'])).id);
    expect(done.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'webhook_410' });
    const user = await t.db.prisma.user.findUniqueOrThrow({ where: { appId_id: { appId: t.appId, id: 'hook-2' } } });
    expect(user.webhookDisabledAt).toBeInstanceOf(Date);
    expect((await notify('hook-2', ['webhook'])).deliveries[0]).toMatchObject({ status: 'skipped', reason: 'no_contact' });
  });
});

describe('when every provider is failing', () => {
  it('waits for the breaker instead of spending attempts, then delivers', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'brk-1', email: 'brk@example.com' } });
    const port = await closedPort();
    const chain = start('email', [createSmtpProvider({ url: `smtp://127.0.0.1:${port}`, from: 'shop@example.com' })], {
      failureThreshold: 1,
      cooldownMs: 1500,
    });
    // Attempt 1 fails and opens the breaker; the job then waits for it rather than failing attempts 2-4 at once.
    const n = await notify('brk-1', ['email'], {}, { attempts: 4, baseDelayMs: 50 });
    await waitFor(async () => (chain.states().smtp === 'open' ? true : undefined), 5000, 'breaker open');
    const smtp = await startSmtpTestServer({ port });
    cleanups.push(() => smtp.close());
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'smtp', attempts: 2 });
    expect(smtp.received).toHaveLength(1);
  });
});
