import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadEnv } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import type { Lookup } from '../platform/ssrf.js';
import type { Envelope, SendContext } from './provider.js';
import { ProviderError } from './provider-error.js';
import { createTlsCertificate, type TlsCertificate } from './testing/tls-server.js';
import { newTestWebhookSecret, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from './testing/webhook-receiver.js';
import { createWebhookProvider, webhookProviderFromEnv, type WebhookProviderOptions } from './webhook.js';

const log = createLogger('silent');
const LOCAL = new Set(['127.0.0.1']);
// Non-ASCII on purpose: the signature and Content-Length must cover the UTF-8 bytes actually sent.
const PAYLOAD = {
  type: 'notification',
  timestamp: '2026-11-23T10:00:00.000Z',
  data: { notification_id: 'n-1', user_id: 'u-1', subject: 'Grüße', message: 'Hallo 👋 "quoted" \\ back', data: { n: 1 } },
};

let secret: string;
let rx: WebhookReceiver;

beforeEach(async () => {
  secret = newTestWebhookSecret();
  rx = await startWebhookReceiver({ secret });
});
afterEach(async () => {
  await rx.close();
});

function provider(overrides: Partial<WebhookProviderOptions> = {}) {
  return createWebhookProvider({ timeoutMs: 5000, allowedHosts: LOCAL, ...overrides });
}
function envelope(url: string, opts: { secret?: string; payload?: Record<string, unknown> } = {}): Envelope {
  return { channel: 'webhook', message: { url, secret: opts.secret ?? secret, payload: opts.payload ?? PAYLOAD } };
}
function ctx(deliveryId = randomUUID()): SendContext {
  return { deliveryId, notificationId: randomUUID(), attempt: 1, log };
}
async function failure(sending: Promise<unknown>): Promise<ProviderError> {
  const err = await sending.then(
    () => new Error('expected the send to fail'),
    (e: unknown) => e,
  );
  if (!(err instanceof ProviderError)) throw err;
  return err;
}
function header(r: ReceivedWebhook, name: string): string {
  const value = r.headers[name];
  if (typeof value !== 'string') throw new Error(`no ${name} header`);
  return value;
}
function only(r: WebhookReceiver): ReceivedWebhook {
  expect(r.requests).toHaveLength(1);
  return r.requests[0]!;
}

describe('webhook provider against a real receiver', () => {
  it('POSTs the payload signed so the receiver verifies it, with webhook-id = delivery id', async () => {
    const c = ctx();
    const sent = await provider().send(envelope(`${rx.origin}/hooks/notify?tenant=7`), c);

    expect(sent.providerMessageId).toBe('webhook-200');
    const r = only(rx);
    expect(r.verified).toBe(true);
    expect(r.verifyError).toBeNull();
    expect(r.payload).toEqual(PAYLOAD);
    expect(r.rawBody.toString('utf8')).toBe(JSON.stringify(PAYLOAD));
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/hooks/notify?tenant=7');
    expect(header(r, 'webhook-id')).toBe(c.deliveryId);
    expect(header(r, 'webhook-signature')).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(header(r, 'webhook-timestamp')) - Date.now() / 1000)).toBeLessThan(5);
    expect(header(r, 'content-type')).toBe('application/json');
    expect(Number(header(r, 'content-length'))).toBe(r.rawBody.length);
    expect(header(r, 'user-agent')).toMatch(/^notify-webhooks\//);
    expect(header(r, 'host')).toBe(`127.0.0.1:${rx.port}`);
  });

  it("the receiver's check is real: a tampered body fails verification, the untouched one passes", async () => {
    await provider().send(envelope(`${rx.origin}/hook`), ctx());
    const original = only(rx);
    const replay = (body: string) =>
      fetch(`${rx.origin}/hook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': header(original, 'webhook-id'),
          'webhook-timestamp': header(original, 'webhook-timestamp'),
          'webhook-signature': header(original, 'webhook-signature'),
        },
        body,
      });
    const tampered = original.rawBody.toString('utf8').replace('"u-1"', '"u-2"');
    expect(tampered).not.toBe(original.rawBody.toString('utf8'));

    expect((await replay(tampered)).status).toBe(401);
    expect(rx.requests[1]).toMatchObject({ verified: false, payload: null, verifyError: expect.stringMatching(/signature/i) });
    expect((await replay(original.rawBody.toString('utf8'))).status).toBe(200);
    expect(rx.requests[2]).toMatchObject({ verified: true, payload: PAYLOAD });
  });

  it('a receiver holding another secret refuses the request: permanent webhook_401', async () => {
    const err = await failure(provider().send(envelope(rx.origin, { secret: newTestWebhookSecret() }), ctx()));
    expect(err).toMatchObject({ code: 'webhook_401', retryable: false, gone: false });
    expect(only(rx).verified).toBe(false);
  });

  it('a retry carries the same webhook-id, freshly signed', async () => {
    let calls = 0;
    rx.reply = () => (++calls === 1 ? { status: 500 } : { status: 202 });
    const c = ctx();
    const p = provider();

    const err = await failure(p.send(envelope(rx.origin), c));
    expect(err).toMatchObject({ code: 'webhook_500', retryable: true });
    const sent = await p.send(envelope(rx.origin), { ...c, attempt: 2 });

    expect(sent.providerMessageId).toBe('webhook-202');
    expect(rx.requests).toHaveLength(2);
    expect(rx.requests.map((r) => r.verified)).toEqual([true, true]);
    expect(rx.requests.map((r) => header(r, 'webhook-id'))).toEqual([c.deliveryId, c.deliveryId]);
  });

  it('does not follow a redirect: permanent webhook_redirect, the target gets nothing', async () => {
    const target = await startWebhookReceiver({ secret });
    try {
      rx.reply = () => ({ status: 302, headers: { location: `${target.origin}/elsewhere` } });
      const err = await failure(provider().send(envelope(rx.origin), ctx()));
      expect(err).toMatchObject({ code: 'webhook_redirect', retryable: false, gone: false });
      expect(rx.requests).toHaveLength(1);
      expect(target.connections).toBe(0);
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('gives up on a receiver that hangs after timeoutMs: retryable webhook_timeout', async () => {
    rx.reply = () => 'hang';
    const started = Date.now();
    const err = await failure(provider({ timeoutMs: 300 }).send(envelope(rx.origin), ctx()));
    const elapsed = Date.now() - started;

    expect(err).toMatchObject({ code: 'webhook_timeout', retryable: true });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    expect(rx.requests).toHaveLength(1);
  });

  it('stops reading an endless response body and reports the status at once', async () => {
    rx.reply = () => 'endless';
    const started = Date.now();
    const sent = await provider({ timeoutMs: 10_000 }).send(envelope(rx.origin), ctx());

    expect(sent.providerMessageId).toBe('webhook-200');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rx.streamedBytes).toBeGreaterThan(64 * 1024);
  });

  describe('classifies the answer', () => {
    it.each([
      [200, {}, { ok: 'webhook-200' }],
      [201, {}, { ok: 'webhook-201' }],
      [204, {}, { ok: 'webhook-204' }],
      [410, {}, { code: 'webhook_410', retryable: false, gone: true, retryAfterMs: undefined }],
      [429, { 'retry-after': '7' }, { code: 'webhook_429', retryable: true, gone: false, retryAfterMs: 7000 }],
      [429, {}, { code: 'webhook_429', retryable: true, gone: false, retryAfterMs: undefined }],
      [503, { 'retry-after': '2' }, { code: 'webhook_503', retryable: true, gone: false, retryAfterMs: 2000 }],
      [500, {}, { code: 'webhook_500', retryable: true, gone: false, retryAfterMs: undefined }],
      [502, {}, { code: 'webhook_502', retryable: true, gone: false, retryAfterMs: undefined }],
      [408, {}, { code: 'webhook_408', retryable: true, gone: false, retryAfterMs: undefined }],
      [425, {}, { code: 'webhook_425', retryable: true, gone: false, retryAfterMs: undefined }],
      [400, {}, { code: 'webhook_400', retryable: false, gone: false, retryAfterMs: undefined }],
      [404, {}, { code: 'webhook_404', retryable: false, gone: false, retryAfterMs: undefined }],
      [422, {}, { code: 'webhook_422', retryable: false, gone: false, retryAfterMs: undefined }],
      [301, { location: '/moved' }, { code: 'webhook_redirect', retryable: false, gone: false, retryAfterMs: undefined }],
    ] as const)('%i %j', async (status, headers, expected) => {
      rx.reply = () => ({ status, headers: { ...headers } });
      const sending = provider().send(envelope(rx.origin), ctx());
      if ('ok' in expected) {
        expect((await sending).providerMessageId).toBe(expected.ok);
      } else {
        const err = await failure(sending);
        // One receiver throttling is never a reason to slow the whole webhook queue.
        expect({ code: err.code, retryable: err.retryable, gone: err.gone, retryAfterMs: err.retryAfterMs, rateLimited: err.rateLimited }).toEqual({
          ...expected,
          rateLimited: false,
        });
      }
      expect(only(rx).verified).toBe(true);
    });

    it('a refused connection is retryable webhook_connection', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));

      const err = await failure(provider().send(envelope(`http://127.0.0.1:${port}/hook`), ctx()));
      expect(err).toMatchObject({ code: 'webhook_connection', retryable: true });
      expect(err.message).toContain('ECONNREFUSED');
    });

    it('an unusable secret is permanent webhook_secret_invalid, before any connection', async () => {
      const err = await failure(provider().send(envelope(rx.origin, { secret: 'whsec_' }), ctx()));
      expect(err).toMatchObject({ code: 'webhook_secret_invalid', retryable: false });
      expect(rx.connections).toBe(0);
    });
  });

  it('never puts the query string or the secret in error messages', async () => {
    const url = `${rx.origin}/hook?token=q-s3cr3t-token`;
    const p = provider({ timeoutMs: 300 });
    const messages: string[] = [];
    for (const reply of [{ status: 500 }, { status: 302, headers: { location: url } }, { status: 410 }, 'hang'] as const) {
      rx.reply = () => reply;
      messages.push((await failure(p.send(envelope(url), ctx()))).message);
    }
    messages.push((await failure(provider({ allowedHosts: new Set() }).send(envelope(url), ctx()))).message);
    messages.push((await failure(p.send(envelope(url, { secret: 'whsec_!!' }), ctx()))).message);

    expect(messages).toHaveLength(6);
    for (const m of messages) {
      expect(m).not.toContain('s3cr3t');
      expect(m).not.toContain(secret);
      expect(m).not.toContain(secret.slice('whsec_'.length));
    }
  });
});

describe('SSRF guard at send time', () => {
  it('refuses the same local URL once it is no longer allowed, without connecting', async () => {
    const err = await failure(provider({ allowedHosts: new Set() }).send(envelope(`${rx.origin}/hook`), ctx()));
    expect(err).toMatchObject({ code: 'webhook_url_forbidden', retryable: false, gone: false });
    expect(err.message).toMatch(/private or reserved/);
    expect(rx.connections).toBe(0);
  });

  it('refuses a name that resolves to 127.0.0.1, without connecting', async () => {
    const lookup = vi.fn<Lookup>(async () => [{ address: '127.0.0.1', family: 4 }]);
    const err = await failure(provider({ allowedHosts: new Set(), lookup }).send(envelope(`http://hooks.example.test:${rx.port}/hook`), ctx()));
    expect(err).toMatchObject({ code: 'webhook_url_forbidden', retryable: false });
    expect(lookup).toHaveBeenCalledWith('hooks.example.test');
    expect(rx.connections).toBe(0);
  });

  it('treats a name that does not resolve (now) as retryable webhook_dns', async () => {
    const failing = vi.fn<Lookup>(async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    });
    const empty = vi.fn<Lookup>(async () => []);
    for (const lookup of [failing, empty]) {
      const err = await failure(provider({ allowedHosts: new Set(), lookup }).send(envelope('https://hooks.example.test/hook'), ctx()));
      expect(err).toMatchObject({ code: 'webhook_dns', retryable: true });
    }
  });

  it('counts a DNS check that never answers against timeoutMs', async () => {
    const never = vi.fn<Lookup>(() => new Promise(() => {}));
    const started = Date.now();
    const err = await failure(provider({ allowedHosts: new Set(), lookup: never, timeoutMs: 300 }).send(envelope('https://hooks.example.test/hook'), ctx()));
    expect(err).toMatchObject({ code: 'webhook_timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('connects to the checked address, not to a fresh DNS answer for the name', async () => {
    // The check sees a public address; the system resolver would say 127.0.0.1, where the receiver listens.
    // Without pinning the request would reach the receiver. 93.184.215.14 is IANA's example.com address.
    const checked = '93.184.215.14';
    const lookup = vi.fn<Lookup>(async () => [{ address: checked, family: 4 }]);
    const err = await failure(provider({ allowedHosts: new Set(), lookup, timeoutMs: 500 }).send(envelope(`http://localhost:${rx.port}/hook`), ctx()));

    expect(lookup).toHaveBeenCalledWith('localhost');
    expect(rx.connections).toBe(0);
    // Offline the connection is refused at once; online the far end does not answer on this port in time.
    expect(['webhook_connection', 'webhook_timeout']).toContain(err.code);
    if (err.code === 'webhook_connection') expect(err.cause).toMatchObject({ address: checked });
  });
});

describe('https receiver', () => {
  let tlsRx: WebhookReceiver;
  let cert: TlsCertificate;
  beforeAll(async () => {
    cert = await createTlsCertificate();
  });
  beforeEach(async () => {
    tlsRx = await startWebhookReceiver({ secret, tls: cert });
  });
  afterEach(async () => {
    await tlsRx.close();
  });

  it('delivers over TLS, sending the URL host as SNI and Host', async () => {
    const c = ctx();
    const url = `https://localhost:${tlsRx.port}/hook`;
    const sent = await provider({ allowedHosts: new Set(['localhost']), ca: cert.cert }).send(envelope(url), c);

    expect(sent.providerMessageId).toBe('webhook-200');
    const r = only(tlsRx);
    expect(r).toMatchObject({ verified: true, payload: PAYLOAD, servername: 'localhost' });
    expect(header(r, 'webhook-id')).toBe(c.deliveryId);
    expect(header(r, 'host')).toBe(`localhost:${tlsRx.port}`);
  });

  it('refuses a certificate it cannot verify: retryable webhook_tls, nothing delivered', async () => {
    const err = await failure(provider({ allowedHosts: new Set(['localhost']) }).send(envelope(`https://localhost:${tlsRx.port}/hook`), ctx()));
    expect(err).toMatchObject({ code: 'webhook_tls', retryable: true });
    expect(tlsRx.requests).toHaveLength(0);
  });
});

describe('webhookProviderFromEnv', () => {
  it('is the webhook channel provider, guarded by WEBHOOK_ALLOWED_HOSTS', async () => {
    const allowed = webhookProviderFromEnv(loadEnv({ WEBHOOK_ALLOWED_HOSTS: ' 127.0.0.1 , other.internal', WEBHOOK_TIMEOUT_MS: '2000' }));
    expect(allowed.name).toBe('webhook');
    expect(allowed.channels).toEqual(['webhook']);
    expect((await allowed.send(envelope(rx.origin), ctx())).providerMessageId).toBe('webhook-200');

    const guarded = webhookProviderFromEnv(loadEnv({}));
    expect(await failure(guarded.send(envelope(rx.origin), ctx()))).toMatchObject({ code: 'webhook_url_forbidden' });
    expect(rx.requests).toHaveLength(1);
  });
});
