import type { Notification, User } from '@notify/core/schemas';
import { createTestEnv, sseReader, startSmtpTestServer, startWebhookReceiver, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, type ApiService, type Service } from './processes.js';

/**
 * The README's walkthrough with real counterparts: the built API and worker,
 * email through a real SMTP server, a webhook to a receiver that verifies
 * the signature, and the in-app item on a live SSE stream.
 */
let t: TestEnv;
const services: Service[] = [];
const closers: (() => Promise<unknown>)[] = [];
let api: ApiService;

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGTERM')));
  await Promise.all(closers.map((c) => c()));
  await t?.close();
});

describe('real channels through the built processes', () => {
  it('delivers an email over SMTP, a signed webhook, and an in-app item on the live stream', async () => {
    const smtp = await startSmtpTestServer();
    const rx = await startWebhookReceiver({ secret: 'whsec_placeholderplaceholderplaceholder' });
    closers.push(
      () => smtp.close(),
      () => rx.close(),
    );
    const env = {
      EMAIL_PROVIDERS: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_FROM: 'Shop <shop@example.com>',
      WEBHOOK_PROVIDERS: 'webhook',
      IN_APP_PROVIDERS: 'inbox',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    };
    api = await startApi(t, env);
    services.push(api, await startWorker(t, ['email', 'webhook', 'in_app'], env));

    const put = await api.call('PUT', '/users/ada', { email: 'ada@example.com', webhook_url: `${rx.origin}/hooks/notify` });
    expect(put.status).toBe(201);
    const user = (await put.json()) as User;
    expect(user.webhook_secret).toMatch(/^whsec_/);
    rx.useSecret(user.webhook_secret!);

    const stream = await api.call('GET', '/users/ada/inbox/stream');
    const events = sseReader(stream.body!);
    expect((await events.next()).event).toBe('ready');

    const res = await api.call('POST', '/notifications', {
      user_id: 'ada',
      subject: 'Order #42',
      message: 'Your order has shipped',
      channels: ['email', 'webhook', 'in_app'],
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Notification;

    const item = await events.next(5000);
    expect(item.event).toBe('item');
    expect(JSON.parse(item.data)).toMatchObject({ notification_id: id, title: 'Order #42', body: 'Your order has shipped' });
    await events.close();

    const done = await waitFor(async () => {
      const n = (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
      return n.status === 'pending' ? undefined : n;
    });
    expect(done.status).toBe('delivered');
    expect(Object.fromEntries(done.deliveries.map((d) => [d.channel, d.provider]))).toEqual({ email: 'smtp', webhook: 'webhook', in_app: 'inbox' });

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.mail.subject).toBe('Order #42');
    expect(smtp.received[0]!.envelope.to).toEqual(['ada@example.com']);

    expect(rx.requests).toHaveLength(1);
    expect(rx.requests[0]!.verified).toBe(true);
    expect(rx.requests[0]!.payload).toMatchObject({ type: 'notification', data: { notification_id: id, message: 'Your order has shipped' } });
  });
});
