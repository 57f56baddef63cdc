import { afterEach, describe, expect, it } from 'vitest';
import { loadEnv } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import type { Envelope, Provider, SendContext } from './provider.js';
import { closedPort, logged, sendError } from './testing/provider-test-kit.js';
import { startFakeTwilio, type FakeTwilio } from './testing/fake-twilio.js';
import { createTwilioProvider, twilioProviderFromEnv, type TwilioProviderOptions } from './twilio.js';

const FROM = '+15005550006';
const TO = '+14155550123';
const MESSAGING_SERVICE = 'MG0123456789abcdef0123456789abcdef';
const ctx: SendContext = { deliveryId: 'd1', notificationId: 'n1', attempt: 1, log: createLogger('silent') };

function sms(to = TO, body = 'Your code is 123456'): Envelope {
  return { channel: 'sms', message: { to, body } };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(): Promise<FakeTwilio> {
  const f = await startFakeTwilio();
  cleanups.push(() => f.close());
  return f;
}

function provider(f: Pick<FakeTwilio, 'accountSid' | 'authToken' | 'baseUrl'>, overrides: Partial<TwilioProviderOptions> = {}): Provider {
  const p = createTwilioProvider({ accountSid: f.accountSid, authToken: f.authToken, from: FROM, baseUrl: f.baseUrl, ...overrides });
  cleanups.push(async () => p.close?.());
  return p;
}

describe('twilio provider', () => {
  it('sends To, From and Body through the SDK and returns the message SID', async () => {
    const f = await fake();
    const p = provider(f);

    const { providerMessageId } = await p.send(sms(), ctx);

    expect(f.messages).toHaveLength(1);
    const sent = f.messages[0]!;
    expect(providerMessageId).toBe(sent.sid);
    expect(providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sent).toMatchObject({ to: TO, from: FROM, messagingServiceSid: undefined, body: 'Your code is 123456' });
    expect(sent.path).toBe(`/2010-04-01/Accounts/${f.accountSid}/Messages.json`);
    // Proof the request came from the real SDK, not a hand-rolled HTTP call.
    expect(sent.userAgent).toMatch(/^twilio-node\/6\.\d+\.\d+ /);
    expect(sent.contentType).toBe('application/x-www-form-urlencoded');
  });

  it('sends a Messaging Service SID (MG...) as MessagingServiceSid, not From', async () => {
    const f = await fake();
    const p = provider(f, { from: MESSAGING_SERVICE });

    await p.send(sms(), ctx);

    expect(f.messages[0]).toMatchObject({ to: TO, from: undefined, messagingServiceSid: MESSAGING_SERVICE });
  });

  it('makes 21211 (invalid number) permanent, without the number Twilio echoes back', async () => {
    const f = await fake();
    const p = provider(f);

    const err = await sendError(p, sms('+1 (415) 555-01'));

    expect(err).toMatchObject({ code: 'twilio_21211', retryable: false, rateLimited: false, suppress: 'invalid_address' });
    expect(err.message).toContain('is not a valid phone number');
    expect(err.cause).toMatchObject({ status: 400, code: 21211, moreInfo: 'https://www.twilio.com/docs/errors/21211' });
    const cause = err.cause as Error;
    for (const text of [err.message, err.stack, cause.message, cause.stack]) expect(text).not.toMatch(/555|415/);
  });

  it.each([
    [21610, 'Attempt to send to unsubscribed recipient', 'unsubscribed'],
    [21614, "'To' number is not a valid mobile number", undefined],
  ])('makes %i permanent (suppressing the number: %s)', async (code, message, suppress) => {
    const f = await fake();
    f.failFor(TO, { status: 400, code, message });
    const p = provider(f);

    const err = await sendError(p, sms());

    expect(err).toMatchObject({ code: `twilio_${code}`, retryable: false, rateLimited: false, suppress });
    expect(err.message).toBe(`Twilio 400 (${code}): ${message}`);
  });

  it('sends the status callback URL with each message when one is configured, and none otherwise', async () => {
    const f = await fake();
    await provider(f, { statusCallback: 'https://notify.example.com/providers/twilio/status' }).send(sms(), ctx);
    await provider(f).send(sms(), ctx);

    expect(f.messages.map((m) => m.statusCallback)).toEqual(['https://notify.example.com/providers/twilio/status', undefined]);
  });

  it('makes another 4xx permanent', async () => {
    const f = await fake();
    f.failFor(TO, { status: 400, code: 21408, message: 'Permission to send an SMS has not been enabled for the region' });
    const p = provider(f);

    expect(await sendError(p, sms())).toMatchObject({ code: 'twilio_21408', retryable: false });
  });

  it('makes 20429 rate limited and retryable, honouring Retry-After in seconds', async () => {
    const f = await fake();
    f.failFor(TO, { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: '7' });
    const p = provider(f);

    const err = await sendError(p, sms());

    expect(err).toMatchObject({ code: 'twilio_20429', retryable: true, rateLimited: true, retryAfterMs: 7000 });
  });

  it('makes a bare HTTP 429 rate limited, honouring Retry-After as an HTTP date', async () => {
    const f = await fake();
    const at = new Date(Date.now() + 60_000);
    f.failFor(TO, { status: 429, message: 'Slow down', retryAfter: at.toUTCString() });
    const p = provider(f);

    const err = await sendError(p, sms());

    expect(err).toMatchObject({ code: 'twilio_429', retryable: true, rateLimited: true });
    // HTTP dates have whole seconds.
    expect(err.retryAfterMs).toBeGreaterThan(55_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('makes 5xx retryable, not rate limited, with Retry-After when given', async () => {
    const f = await fake();
    f.failFor(TO, { status: 503, code: 20503, message: 'Service Unavailable', retryAfter: '3' });
    f.failFor('+14155550999', { status: 500, code: 20500, message: 'Internal Server Error' });
    const p = provider(f);

    expect(await sendError(p, sms())).toMatchObject({ code: 'twilio_20503', retryable: true, rateLimited: false, retryAfterMs: 3000 });
    const err = await sendError(p, sms('+14155550999'));
    expect(err).toMatchObject({ code: 'twilio_20500', retryable: true, rateLimited: false });
    expect(err.retryAfterMs).toBeUndefined();
  });

  it('gives each of several concurrent sends its own Retry-After', async () => {
    const f = await fake();
    const numbers = ['+14155550101', '+14155550102', '+14155550103', '+14155550104'];
    numbers.forEach((to, i) => {
      f.failFor(to, { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: String(i + 1) });
    });
    const p = provider(f);

    const errors = await Promise.all(numbers.map((to) => sendError(p, sms(to))));

    expect(errors.map((e) => e.retryAfterMs)).toEqual([1000, 2000, 3000, 4000]);
  });

  it('makes wrong credentials (401) retryable: our configuration, not the message', async () => {
    const f = await fake();
    const p = provider(f, { authToken: 'not-the-token' });

    const err = await sendError(p, sms());

    expect(err).toMatchObject({ code: 'twilio_20003', retryable: true, rateLimited: false });
    expect(f.messages).toHaveLength(0);
  });

  it('makes an unreachable API retryable (twilio_connection)', async () => {
    const p = provider({ accountSid: `AC${'0'.repeat(32)}`, authToken: 'token', baseUrl: `http://127.0.0.1:${await closedPort()}` });

    const err = await sendError(p, sms());

    expect(err).toMatchObject({ code: 'twilio_connection', retryable: true });
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.cause).toMatchObject({ code: 'ECONNREFUSED' });
    // The axios error holds the request config (Authorization header, form body); the kept cause must not.
    expect(Object.keys(err.cause as object)).not.toContain('config');
  });

  it('logs neither the number nor the credentials when an error is logged with pino', async () => {
    const f = await fake();
    const p = provider(f);
    const refused = await sendError(p, sms('+44 20 7946 0958x'));
    const unreachable = await sendError(provider({ accountSid: f.accountSid, authToken: f.authToken, baseUrl: `http://127.0.0.1:${await closedPort()}` }), sms('+447946095800'));

    expect(refused.code).toBe('twilio_21211');
    expect(unreachable.code).toBe('twilio_connection');
    for (const line of [logged(refused), logged(unreachable)]) {
      expect(line).toContain('Twilio');
      expect(line).not.toMatch(/7946|0958/);
      expect(line).not.toContain(f.authToken);
      expect(line).not.toContain(Buffer.from(`${f.accountSid}:${f.authToken}`).toString('base64'));
    }
  });

  it('twilioProviderFromEnv names every missing variable', () => {
    expect(() => twilioProviderFromEnv(loadEnv({}))).toThrow('The twilio provider needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM (unset or empty)');
    expect(() => twilioProviderFromEnv(loadEnv({ TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`, TWILIO_FROM: ' ' }))).toThrow(
      'The twilio provider needs TWILIO_AUTH_TOKEN, TWILIO_FROM (unset or empty)',
    );
  });

  it('twilioProviderFromEnv sends with the TWILIO_* settings, through TWILIO_API_BASE_URL', async () => {
    const f = await fake();
    const p = twilioProviderFromEnv(
      loadEnv({
        TWILIO_ACCOUNT_SID: f.accountSid,
        TWILIO_AUTH_TOKEN: f.authToken,
        TWILIO_FROM: MESSAGING_SERVICE,
        TWILIO_API_BASE_URL: f.baseUrl,
      }),
    );
    cleanups.push(async () => p.close?.());

    expect(p).toMatchObject({ name: 'twilio', channels: ['sms'] });
    const { providerMessageId } = await p.send(sms(), ctx);
    expect(f.messages.map((m) => [m.sid, m.messagingServiceSid])).toEqual([[providerMessageId, MESSAGING_SERVICE]]);
  });

  it('rejects an account SID not starting with AC and a base URL that is not http(s)', () => {
    expect(() => createTwilioProvider({ accountSid: 'SK123', authToken: 't', from: FROM })).toThrow('the account SID must start with AC');
    expect(() => createTwilioProvider({ accountSid: 'AC123', authToken: 't', from: FROM, baseUrl: 'ftp://127.0.0.1' })).toThrow(
      'the API base URL must be an http:// or https:// URL',
    );
  });
});
