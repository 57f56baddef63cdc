import type https from 'node:https';
// web-push is CommonJS whose exports Node's ESM loader cannot name: only the default import works at runtime.
import webpush from 'web-push';
import type { Env } from '../platform/env.js';
import type { Provider } from './provider.js';
import { parseRetryAfter, ProviderError } from './provider-error.js';
import { createPushProvider, pushFailure, pushUnreachable } from './push-common.js';

export interface WebPushProviderOptions {
  /** VAPID key pair (`npx web-push generate-vapid-keys`) and contact (`mailto:` or `https:` URL). */
  vapid: { publicKey: string; privateKey: string; subject: string };
  /** Agent for the push service requests, e.g. one trusting a private CA. Default: Node's global agent. */
  agent?: https.Agent;
  /** How long the push service keeps an undelivered message (device offline). Default 86 400 (one day). */
  ttlSeconds?: number;
  /** Socket inactivity limit per request. Default 10 000. */
  timeoutMs?: number;
}

const DEFAULT_TTL_SECONDS = 86_400;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Web Push (RFC 8030/8291/8292) through the `web-push` library: one
 * encrypted message per browser subscription, signed with our VAPID key.
 */
export function createWebPushProvider(opts: WebPushProviderOptions): Provider {
  const vapidDetails = { ...opts.vapid };
  // Fails at startup rather than on every send: web-push only checks the keys when it signs.
  webpush.getVapidHeaders('https://push.example', vapidDetails.subject, vapidDetails.publicKey, vapidDetails.privateKey, 'aes128gcm');
  const ttl = opts.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return createPushProvider('webpush', async ({ device, title, body, data }) => {
    if (!device.keys || !isHttpsUrl(device.token)) {
      throw new ProviderError(`device ${device.id} is not a usable Web Push subscription (needs an https endpoint and keys)`, {
        code: 'webpush_invalid_subscription',
        retryable: false,
      });
    }
    const subscription = { endpoint: device.token, keys: device.keys };
    const payload = JSON.stringify({ title, body, data });
    try {
      const sent = await webpush.sendNotification(subscription, payload, {
        vapidDetails,
        TTL: ttl,
        contentEncoding: 'aes128gcm',
        ...(opts.agent ? { agent: opts.agent } : {}),
        timeout,
      });
      // The push service's URI for the message (RFC 8030 §5); it names the message, not the subscriber.
      return sent.headers.location || undefined;
    } catch (err) {
      throw classify(err);
    }
  });
}

/** The webpush provider from VAPID_* settings; throws at startup when the keys are missing or malformed. */
export function webPushProviderFromEnv(env: Pick<Env, 'VAPID_PUBLIC_KEY' | 'VAPID_PRIVATE_KEY' | 'VAPID_SUBJECT'>): Provider {
  const missing = (['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT'] as const).filter((k) => env[k].trim() === '');
  if (missing.length > 0) {
    throw new Error(`The webpush provider needs ${missing.join(' and ')}; generate a key pair with \`npx web-push generate-vapid-keys\``);
  }
  const vapid = { publicKey: env.VAPID_PUBLIC_KEY.trim(), privateKey: env.VAPID_PRIVATE_KEY.trim(), subject: env.VAPID_SUBJECT.trim() };
  try {
    return createWebPushProvider({ vapid });
  } catch (err) {
    // web-push's own wording ("Vapid public key should be 65 bytes long when decoded.") does not name our variables.
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Invalid VAPID settings (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT): ${reason}`);
  }
}

function isHttpsUrl(value: string): boolean {
  // web-push sends over https whatever the scheme says; refuse anything else instead of surprising a receiver.
  return URL.canParse(value) && new URL(value).protocol === 'https:';
}

function classify(err: unknown): ProviderError {
  if (err instanceof webpush.WebPushError) {
    const status = err.statusCode;
    const retryAfterMs = parseRetryAfter(err.headers['retry-after']);
    // WebPushError carries the endpoint (the subscriber's capability URL): keep everything but that.
    const cause = new webpush.WebPushError(err.message, status, err.headers, err.body.slice(0, 500), '[redacted]');
    const fail = pushFailure(`push service answered HTTP ${status}`, cause, retryAfterMs);
    // The subscription expired or was revoked (RFC 8030 §7.3): the device must be forgotten.
    if (status === 404 || status === 410) return fail('webpush_gone', false, { gone: true });
    if (status === 429) return fail('webpush_rate_limited', true, { rateLimited: true });
    if (status === 413) return fail('webpush_payload_too_large', false);
    // 401/403: the push service refused our VAPID JWT for this subscription, typically one made with
    // another application server key; retrying with the same key cannot succeed.
    if (status === 401 || status === 403) return fail('webpush_unauthorized', false);
    if (status >= 500) return fail('webpush_unavailable', true);
    if (status >= 400) return fail('webpush_rejected', false);
    return fail('webpush_unexpected_status', true);
  }
  const message = err instanceof Error ? err.message : String(err);
  // web-push's own socket timeout (its `timeout` option) rejects with this plain Error.
  if (message === 'Socket timeout') {
    return new ProviderError('push service did not answer in time', { code: 'webpush_timeout', retryable: true, cause: err });
  }
  return pushUnreachable('webpush', 'push service', err);
}
