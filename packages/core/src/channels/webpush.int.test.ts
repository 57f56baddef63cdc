import type https from 'node:https';
import webpush from 'web-push';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.js';
import type { Envelope, PushDevice, SendContext } from './provider.js';
import { ProviderError } from './provider-error.js';
import { createSubscriber, startFakePushService, verifyVapidAuthorization, type FakePushService, type Subscriber } from './testing/fake-push-service.js';
import { closedPort } from './testing/provider-test-kit.js';
import { createTlsCertificate, type TlsCertificate } from './testing/tls-server.js';
import { createWebPushProvider, webPushProviderFromEnv } from './webpush.js';

const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' };
const ctx: SendContext = { deliveryId: 'dlv-1', notificationId: 'ntf-1', attempt: 1, log: createLogger('silent') };

let tls: TlsCertificate;
let service: FakePushService;
let subscriber: Subscriber;

beforeAll(async () => {
  tls = await createTlsCertificate();
  service = await startFakePushService(tls);
});
afterAll(() => service?.close());
beforeEach(() => {
  service.reset();
  subscriber = createSubscriber();
});

function device(over: Partial<PushDevice> = {}): PushDevice {
  return { id: 'dev-1', kind: 'webpush', token: service.endpoint(), keys: subscriber.keys, ...over };
}

function push(d: PushDevice, data: Record<string, unknown> | null = { url: '/orders/42', count: 3 }): Envelope {
  return { channel: 'push', message: { device: d, title: 'Order shipped', body: 'Your order is on its way', data } };
}

const provider = (over: { ttlSeconds?: number; timeoutMs?: number; agent?: https.Agent } = {}) => createWebPushProvider({ vapid, agent: service.agent, ...over });

async function sendError(p: ReturnType<typeof provider>, envelope: Envelope): Promise<ProviderError> {
  const err: unknown = await p.send(envelope, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('webpush provider', () => {
  it('delivers an aes128gcm message the subscriber can decrypt, signed with our VAPID key', async () => {
    const d = device();
    const sent = await provider({ ttlSeconds: 600 }).send(push(d), ctx);

    expect(service.requests).toHaveLength(1);
    const req = service.requests[0]!;
    expect(req.method).toBe('POST');
    expect(`${service.origin}${req.path}`).toBe(d.token);
    expect(req.headers['content-encoding']).toBe('aes128gcm');
    expect(req.headers.ttl).toBe('600');
    expect(JSON.parse(subscriber.decrypt(req.body).toString('utf8'))).toEqual({
      title: 'Order shipped',
      body: 'Your order is on its way',
      data: { url: '/orders/42', count: 3 },
    });
    const claims = verifyVapidAuthorization(req.headers.authorization);
    expect(claims.publicKey).toBe(vapid.publicKey);
    expect(claims.aud).toBe(service.origin);
    expect(claims.sub).toBe(vapid.subject);
    expect(claims.exp * 1000).toBeGreaterThan(Date.now());
    expect(claims.exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
    expect(sent.providerMessageId).toBe(`${service.origin}/m/msg-1`);
  });

  it('cannot be read with another subscription’s keys', async () => {
    await provider().send(push(device()), ctx);
    expect(() => createSubscriber().decrypt(service.requests[0]!.body)).toThrow();
  });

  it('keeps messages one day by default and sends null data as null', async () => {
    await provider().send(push(device(), null), ctx);
    const req = service.requests[0]!;
    expect(req.headers.ttl).toBe('86400');
    expect(JSON.parse(subscriber.decrypt(req.body).toString('utf8'))).toEqual({ title: 'Order shipped', body: 'Your order is on its way', data: null });
  });

  it('falls back to an id made of delivery and device ids when the service gives no Location', async () => {
    service.reply({ status: 201 });
    const d = device();
    const sent = await provider().send(push(d), ctx);
    expect(sent.providerMessageId).toBe('webpush:dlv-1:dev-1');
    expect(sent.providerMessageId).not.toContain(new URL(d.token).pathname);
  });

  it.each([404, 410])('reports HTTP %i as a gone subscription, without the endpoint in the error', async (status) => {
    service.reply({ status, body: 'push subscription has unsubscribed or expired' });
    const d = device();
    const err = await sendError(provider(), push(d));
    expect(err).toMatchObject({ code: 'webpush_gone', retryable: false, gone: true, rateLimited: false });
    const secret = new URL(d.token).pathname;
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.cause)).not.toContain(secret);
    expect(String(err.cause)).not.toContain(secret);
  });

  it('reports 429 as rate limiting and honours Retry-After in seconds', async () => {
    service.reply({ status: 429, headers: { 'Retry-After': '120' } });
    const err = await sendError(provider(), push(device()));
    expect(err).toMatchObject({ code: 'webpush_rate_limited', retryable: true, rateLimited: true, gone: false, retryAfterMs: 120_000 });
  });

  it('honours Retry-After given as an HTTP date', async () => {
    service.reply({ status: 429, headers: { 'Retry-After': new Date(Date.now() + 90_000).toUTCString() } });
    const err = await sendError(provider(), push(device()));
    expect(err.retryAfterMs).toBeGreaterThan(80_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it.each([500, 502, 503])('reports HTTP %i as retryable', async (status) => {
    service.reply({ status, headers: status === 503 ? { 'Retry-After': '30' } : {} });
    const err = await sendError(provider(), push(device()));
    expect(err).toMatchObject({ code: 'webpush_unavailable', retryable: true, gone: false, rateLimited: false });
    expect(err.retryAfterMs).toBe(status === 503 ? 30_000 : undefined);
  });

  it.each([
    [400, 'webpush_rejected'],
    [401, 'webpush_unauthorized'],
    [403, 'webpush_unauthorized'],
    [413, 'webpush_payload_too_large'],
  ])('reports HTTP %i as permanent (%s), keeping the device', async (status, code) => {
    service.reply({ status });
    const err = await sendError(provider(), push(device()));
    expect(err).toMatchObject({ code, retryable: false, gone: false, rateLimited: false });
  });

  it('reports an unreachable push service as retryable', async () => {
    const port = await closedPort();
    const err = await sendError(provider(), push(device({ token: `https://127.0.0.1:${port}/push/abc` })));
    expect(err).toMatchObject({ code: 'webpush_network', retryable: true, gone: false });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('reports a push service that does not answer as a retryable timeout', async () => {
    service.reply({ status: 0, hang: true });
    const started = Date.now();
    const err = await sendError(provider({ timeoutMs: 200 }), push(device()));
    expect(err).toMatchObject({ code: 'webpush_timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('uses the given agent: without it the self-signed service is not trusted', async () => {
    const err = await sendError(createWebPushProvider({ vapid }), push(device()));
    expect(err).toMatchObject({ code: 'webpush_network', retryable: true });
    expect(service.requests).toHaveLength(0);
  });

  it('refuses a subscription without keys or with a non-https endpoint, sending nothing', async () => {
    for (const d of [device({ keys: null }), device({ token: 'http://127.0.0.1/push/x' }), device({ token: 'not a url' })]) {
      const err = await sendError(provider(), push(d));
      expect(err).toMatchObject({ code: 'webpush_invalid_subscription', retryable: false, gone: false });
    }
    expect(service.requests).toHaveLength(0);
  });

  it('accepts only Web Push devices', () => {
    const p = provider();
    expect(p.name).toBe('webpush');
    expect(p.channels).toEqual(['push']);
    expect(p.accepts?.(push(device()))).toBe(true);
    expect(p.accepts?.(push(device({ kind: 'fcm', token: 'fcm-token', keys: null })))).toBe(false);
    expect(p.accepts?.({ channel: 'sms', message: { to: '+14155550100', body: 'x' } })).toBe(false);
  });

  it('refuses an FCM device even when asked directly, sending nothing', async () => {
    const err = await sendError(provider(), push(device({ kind: 'fcm', token: 'fcm-token', keys: null })));
    expect(err).toMatchObject({ code: 'webpush_wrong_device', retryable: false, gone: false });
    expect(service.requests).toHaveLength(0);
  });
});

describe('webPushProviderFromEnv', () => {
  const env = { VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:ops@example.com' };

  it('builds the provider from VAPID_* settings', () => {
    expect(webPushProviderFromEnv(env).name).toBe('webpush');
  });

  it('names the missing keys and how to make them', () => {
    expect(() => webPushProviderFromEnv({ ...env, VAPID_PUBLIC_KEY: '', VAPID_PRIVATE_KEY: ' ' })).toThrow(/VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY.*generate-vapid-keys/);
  });

  it('rejects malformed keys and subjects at startup', () => {
    expect(() => webPushProviderFromEnv({ ...env, VAPID_PUBLIC_KEY: 'abc' })).toThrow(/Invalid VAPID settings.*public key/i);
    expect(() => webPushProviderFromEnv({ ...env, VAPID_PRIVATE_KEY: vapid.publicKey })).toThrow(/Invalid VAPID settings.*private key/i);
    expect(() => webPushProviderFromEnv({ ...env, VAPID_SUBJECT: 'ops@example.com' })).toThrow(/Invalid VAPID settings.*subject/i);
  });
});
