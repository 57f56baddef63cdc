import type http from 'node:http';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.js';
import { createFcmProvider, fcmProviderFromEnv } from './fcm.js';
import type { Envelope, PushDevice, SendContext } from './provider.js';
import { ProviderError } from './provider-error.js';
import { fcmError, startFakeFcm, type FakeFcm } from './testing/fake-fcm.js';
import { closedPort } from './testing/provider-test-kit.js';
import { createTlsCertificate } from './testing/tls-server.js';

const PROJECT = 'notify-test';
const ACCESS_TOKEN = 'ya29.test-access-token';
const DEVICE_TOKEN = 'fcm-registration-token-AbC123:secret-part';
const ctx: SendContext = { deliveryId: 'dlv-1', notificationId: 'ntf-1', attempt: 1, log: createLogger('silent') };

let fcm: FakeFcm;
// The token source production uses (google-auth-library), preset instead of exchanging a service account key.
const oauth = new OAuth2Client();
oauth.setCredentials({ access_token: ACCESS_TOKEN, expiry_date: Date.now() + 3_600_000 });
const accessToken = async () => (await oauth.getAccessToken()).token ?? '';

beforeAll(async () => {
  fcm = await startFakeFcm(await createTlsCertificate(), { projectId: PROJECT, accessToken: ACCESS_TOKEN });
});
afterAll(() => fcm?.close());
beforeEach(() => {
  fcm.reset();
});

const device = (over: Partial<PushDevice> = {}): PushDevice => ({ id: 'dev-1', kind: 'fcm', token: DEVICE_TOKEN, keys: null, ...over });

function push(d: PushDevice = device(), data: Record<string, unknown> | null = { orderId: '42', count: 3, urgent: true, meta: { a: [1] }, none: null }): Envelope {
  return { channel: 'push', message: { device: d, title: 'Order shipped', body: 'Your order is on its way', data } };
}

const provider = (over: { accessToken?: () => Promise<string>; timeoutMs?: number; baseUrl?: string; agent?: http.Agent } = {}) =>
  createFcmProvider({ projectId: PROJECT, baseUrl: fcm.origin, accessToken, agent: fcm.agent, ...over });

async function sendError(envelope: Envelope, p = provider()): Promise<ProviderError> {
  const err: unknown = await p.send(envelope, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  const pe = err as ProviderError;
  // Device tokens are personal data: never in what gets logged or stored.
  expect(pe.message).not.toContain(DEVICE_TOKEN);
  expect(String(pe.cause)).not.toContain(DEVICE_TOKEN);
  return pe;
}

describe('fcm provider', () => {
  it('sends an HTTP v1 message with the bearer token and returns the message name', async () => {
    const sent = await provider().send(push(), ctx);

    expect(sent.providerMessageId).toBe(`projects/${PROJECT}/messages/1`);
    expect(fcm.requests).toHaveLength(1);
    const req = fcm.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/v1/projects/${PROJECT}/messages:send`);
    expect(req.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(JSON.parse(req.body.toString('utf8'))).toEqual({
      message: {
        token: DEVICE_TOKEN,
        notification: { title: 'Order shipped', body: 'Your order is on its way' },
        data: { orderId: '42', count: '3', urgent: 'true', meta: '{"a":[1]}', none: 'null' },
      },
    });
  });

  it('leaves out data when the message has none, and works behind a base URL with a trailing slash', async () => {
    await provider({ baseUrl: `${fcm.origin}/` }).send(push(device(), null), ctx);
    const body = JSON.parse(fcm.requests[0]!.body.toString('utf8')) as { message: Record<string, unknown> };
    expect(fcm.requests[0]!.path).toBe(`/v1/projects/${PROJECT}/messages:send`);
    expect(body.message).not.toHaveProperty('data');
    expect(body.message.notification).toEqual({ title: 'Order shipped', body: 'Your order is on its way' });
  });

  it('reports UNREGISTERED as a gone device', async () => {
    fcm.reply(fcmError(404, 'NOT_FOUND', 'UNREGISTERED', 'Requested entity was not found.'));
    const err = await sendError(push());
    expect(err).toMatchObject({ code: 'fcm_unregistered', retryable: false, gone: true, rateLimited: false });
  });

  it('reports an invalid registration token as gone, other INVALID_ARGUMENTs as permanent only', async () => {
    fcm.reply(
      fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', [
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token', description: 'Invalid registration token' }] },
      ]),
      fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'Message is too big'),
    );
    expect(await sendError(push())).toMatchObject({ code: 'fcm_invalid_token', retryable: false, gone: true });
    expect(await sendError(push())).toMatchObject({ code: 'fcm_invalid_argument', retryable: false, gone: false });
  });

  it('reports QUOTA_EXCEEDED as rate limiting and honours Retry-After', async () => {
    fcm.reply(fcmError(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'Quota exceeded', [], { 'Retry-After': '60' }));
    const err = await sendError(push());
    expect(err).toMatchObject({ code: 'fcm_quota_exceeded', retryable: true, rateLimited: true, gone: false, retryAfterMs: 60_000 });
  });

  it('reports 503 UNAVAILABLE, 500 INTERNAL and a bare 502 page as retryable', async () => {
    fcm.reply(
      fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE', 'The service is currently unavailable.', [], { 'Retry-After': '10' }),
      fcmError(500, 'INTERNAL', 'INTERNAL', 'Internal error encountered.'),
      { status: 502, rawBody: '<html>Bad Gateway</html>' },
    );
    expect(await sendError(push())).toMatchObject({ code: 'fcm_unavailable', retryable: true, gone: false, rateLimited: false, retryAfterMs: 10_000 });
    expect(await sendError(push())).toMatchObject({ code: 'fcm_unavailable', retryable: true, retryAfterMs: undefined });
    expect(await sendError(push())).toMatchObject({ code: 'fcm_unavailable', retryable: true });
  });

  it('treats SENDER_ID_MISMATCH as permanent but keeps the device', async () => {
    fcm.reply(fcmError(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH', 'SenderId mismatch'));
    expect(await sendError(push())).toMatchObject({ code: 'fcm_sender_id_mismatch', retryable: false, gone: false });
  });

  it('treats THIRD_PARTY_AUTH_ERROR and our own auth failures as retryable configuration problems', async () => {
    fcm.reply(fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR', 'Auth error from APNS or Web Push Service'));
    expect(await sendError(push())).toMatchObject({ code: 'fcm_third_party_auth', retryable: true, gone: false });
    // A token the fake does not know: the real 401 UNAUTHENTICATED.
    expect(await sendError(push(), provider({ accessToken: async () => 'expired' }))).toMatchObject({ code: 'fcm_auth', retryable: true, gone: false });
    fcm.reply(fcmError(403, 'PERMISSION_DENIED', undefined, 'Permission denied'), { status: 401, rawBody: 'Unauthorized' });
    expect(await sendError(push())).toMatchObject({ code: 'fcm_auth', retryable: true, gone: false });
    // A bare 401 (no v1 body, e.g. from a proxy) is still about credentials.
    expect(await sendError(push())).toMatchObject({ code: 'fcm_auth', retryable: true, gone: false });
  });

  it('treats a 404 without UNREGISTERED (wrong project) as configuration, not a gone device', async () => {
    const err = await sendError(push(), createFcmProvider({ projectId: 'other-project', baseUrl: fcm.origin, accessToken, agent: fcm.agent }));
    expect(err).toMatchObject({ code: 'fcm_not_found', retryable: true, gone: false });
  });

  it('reports a failing token source as retryable and sends nothing', async () => {
    const err = await sendError(push(), provider({ accessToken: () => Promise.reject(new Error('metadata server unreachable')) }));
    expect(err).toMatchObject({ code: 'fcm_auth', retryable: true });
    expect(fcm.requests).toHaveLength(0);
  });

  it('reports an unreachable endpoint and a timeout as retryable', async () => {
    const port = await closedPort();
    const refused = await sendError(push(), provider({ baseUrl: `http://127.0.0.1:${port}`, agent: undefined }));
    expect(refused).toMatchObject({ code: 'fcm_network', retryable: true });
    expect(refused.message).toContain('ECONNREFUSED');

    fcm.reply({ status: 0, hang: true });
    const started = Date.now();
    const slow = await sendError(push(), provider({ timeoutMs: 200 }));
    expect(slow).toMatchObject({ code: 'fcm_timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('accepts only FCM devices', async () => {
    const p = provider();
    const webpushDevice = device({ kind: 'webpush', token: 'https://push.example/abc', keys: { p256dh: 'p', auth: 'a' } });
    expect(p.name).toBe('fcm');
    expect(p.channels).toEqual(['push']);
    expect(p.accepts?.(push())).toBe(true);
    expect(p.accepts?.(push(webpushDevice))).toBe(false);
    expect(p.accepts?.({ channel: 'sms', message: { to: '+14155550100', body: 'x' } })).toBe(false);
    expect(await sendError(push(webpushDevice))).toMatchObject({ code: 'fcm_wrong_device', retryable: false, gone: false });
    expect(fcm.requests).toHaveLength(0);
  });
});

describe('fcmProviderFromEnv', () => {
  // Shaped like a service account key; the key is not a real one, so signing fails locally (no network).
  const credentials = { type: 'service_account', project_id: 'from-credentials', client_email: 'push@from-credentials.iam.gserviceaccount.com', private_key: 'not a key' };
  const env = (over: Partial<Record<'FCM_CREDENTIALS' | 'FCM_PROJECT_ID' | 'FCM_BASE_URL', string>> = {}) => ({
    FCM_CREDENTIALS: JSON.stringify(credentials),
    FCM_PROJECT_ID: '',
    FCM_BASE_URL: fcm.origin,
    ...over,
  });

  it('asks for FCM_CREDENTIALS when it is empty', () => {
    expect(() => fcmProviderFromEnv(env({ FCM_CREDENTIALS: '' }))).toThrow(/needs FCM_CREDENTIALS/);
  });

  it('refuses credentials that are not JSON without echoing them', () => {
    const secret = '/etc/secrets/private-key-material.json';
    let message = '';
    try {
      fcmProviderFromEnv(env({ FCM_CREDENTIALS: secret }));
    } catch (err) {
      message = err instanceof Error ? `${err.message} ${String(err.cause)}` : '';
    }
    expect(message).toMatch(/FCM_CREDENTIALS is not valid JSON/);
    expect(message).not.toContain('private-key-material');
  });

  it('refuses JSON that is not a service account key', () => {
    expect(() => fcmProviderFromEnv(env({ FCM_CREDENTIALS: '{"client_email":"x"}' }))).toThrow(/client_email and private_key/);
    expect(() => fcmProviderFromEnv(env({ FCM_CREDENTIALS: '[]' }))).toThrow(/client_email and private_key/);
  });

  it('needs a project id from FCM_PROJECT_ID or the credentials', () => {
    const { project_id: _, ...withoutProject } = credentials;
    expect(() => fcmProviderFromEnv(env({ FCM_CREDENTIALS: JSON.stringify(withoutProject) }))).toThrow(/FCM_PROJECT_ID/);
    expect(fcmProviderFromEnv(env({ FCM_CREDENTIALS: JSON.stringify(withoutProject), FCM_PROJECT_ID: PROJECT })).name).toBe('fcm');
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => fcmProviderFromEnv(env({ FCM_BASE_URL: 'fcm.googleapis.com' }))).toThrow(/FCM_BASE_URL/);
  });

  it('gets tokens from google-auth-library and reports its failures as retryable, sending nothing', async () => {
    const p = fcmProviderFromEnv(env());
    expect(p.name).toBe('fcm');
    const err = await sendError(push(), p);
    expect(err).toMatchObject({ code: 'fcm_auth', retryable: true });
    expect(String(err.cause)).toMatch(/DECODER|key/i);
    expect(fcm.requests).toHaveLength(0);
  });
});
