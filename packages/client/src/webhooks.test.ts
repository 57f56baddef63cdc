import { Webhook } from 'standardwebhooks';
import { describe, expect, test } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from './webhooks.js';

// Signed by the Standard Webhooks library, as the service signs (packages/core/src/channels/webhook.ts); the real worker's webhooks: e2e/src/client.e2e.test.ts.
const secret = `whsec_${Buffer.from('a-test-secret-of-24-bytes').toString('base64')}`;
const body = JSON.stringify({ type: 'delivery.delivered', data: { id: 'd1' } });
const sentAt = new Date('2026-12-01T12:00:00Z');

function signed(id = 'evt_1', at = sentAt, payload = body, key = secret) {
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(key).sign(id, at, payload) };
}

describe('verifyWebhook', () => {
  test('a webhook signed with the secret verifies and answers its parsed body, from Node headers, Fetch Headers or bytes', () => {
    expect(verifyWebhook(secret, signed(), body, sentAt)).toEqual({ type: 'delivery.delivered', data: { id: 'd1' } });
    expect(verifyWebhook(secret, new Headers(signed()), new TextEncoder().encode(body), new Date(sentAt.getTime() + 299_000))).toEqual(JSON.parse(body));
  });

  test('any of several signatures will do (secret rotation)', () => {
    const headers = signed();
    const other = new Webhook(`whsec_${Buffer.from('another-secret-24-bytes!').toString('base64')}`).sign('evt_1', sentAt, body);
    expect(verifyWebhook(secret, { ...headers, 'webhook-signature': `${other} ${headers['webhook-signature']}` }, body, sentAt)).toBeTruthy();
  });

  test.each([
    ['a tampered body', () => verifyWebhook(secret, signed(), body.replace('d1', 'd2'), sentAt), 'no webhook-signature matches'],
    ['another id', () => verifyWebhook(secret, { ...signed(), 'webhook-id': 'evt_2' }, body, sentAt), 'no webhook-signature matches'],
    ['another secret', () => verifyWebhook(`whsec_${Buffer.from('not-the-secret-24-bytes!').toString('base64')}`, signed(), body, sentAt), 'no webhook-signature matches'],
    [
      'a signature of another version',
      () => verifyWebhook(secret, { ...signed(), 'webhook-signature': signed()['webhook-signature'].replace('v1,', 'v2,') }, body, sentAt),
      'no webhook-signature matches',
    ],
    ['a timestamp over 5 minutes old', () => verifyWebhook(secret, signed(), body, new Date(sentAt.getTime() + 301_000)), 'within 5 minutes'],
    ['a timestamp over 5 minutes ahead', () => verifyWebhook(secret, signed(), body, new Date(sentAt.getTime() - 301_000)), 'within 5 minutes'],
    ['a timestamp that is not a number', () => verifyWebhook(secret, { ...signed(), 'webhook-timestamp': 'yesterday' }, body, sentAt), 'within 5 minutes'],
    ['no signature header', () => verifyWebhook(secret, { 'webhook-id': 'evt_1', 'webhook-timestamp': '1' }, body, sentAt), 'missing'],
  ])('%s is refused', (_, verify, message) => {
    expect(verify).toThrow(WebhookVerificationError);
    expect(verify).toThrow(message);
  });
});
