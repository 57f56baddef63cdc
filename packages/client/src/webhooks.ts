// Verifies what the service sends signed: status webhooks and the webhook
// channel, both per Standard Webhooks (https://www.standardwebhooks.com):
// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, the key
// being the base64 after `whsec_`. Uses node:crypto, so it runs in Node (and
// Deno, Bun), not in browsers: a signing secret belongs on a server anyway.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far webhook-timestamp may be from now, either way, as Standard Webhooks' own libraries allow: 5 minutes. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** A webhook that is not ours as sent: a missing header, a bad signature, or a timestamp out of tolerance. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

/**
 * Checks a received webhook against its signing secret (`whsec_...`) and
 * returns its parsed JSON body. Pass the raw body exactly as received (a
 * re-serialised object would not match), and the request's headers as a
 * Fetch `Headers` or Node's `req.headers`. Throws WebhookVerificationError.
 */
export function verifyWebhook(secret: string, headers: HeaderBag, rawBody: string | Uint8Array, now: Date = new Date()): unknown {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');

  const sentAt = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || Math.abs(now.getTime() / 1000 - sentAt) > WEBHOOK_TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('webhook-timestamp is not within 5 minutes of now');
  }

  const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  // Several signatures, space-separated, while a secret is being rotated: any one of them will do.
  const matches = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('no webhook-signature matches the body');
  return JSON.parse(body);
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
