import { describe, expect, test } from 'vitest';
import { createNotifyClient, type CreateNotification } from './notify-client.js';
import { NotifyError } from './notify-error.js';

// The client's own logic over a scripted fetch; against the real API and worker: e2e/src/client.e2e.test.ts.
function scripted(...answers: Response[]) {
  const seen: Request[] = [];
  const fetch = async (request: Request) => {
    seen.push(request);
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    return next;
  };
  return { fetch, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const accepted = { id: 'n1', status: 'accepted' };
const send: CreateNotification = { user_id: 'u1', channels: ['email'], message: 'Your order shipped' };

describe('createNotifyClient', () => {
  test('a send carries the API key and a random Idempotency-Key, the same on each of its retries; a new send gets a new one', async () => {
    const { fetch, seen } = scripted(
      json(429, { error: { code: 'rate_limited', message: 'slow down', request_id: 'r1' } }, { 'retry-after': '0' }),
      json(202, accepted),
      json(202, accepted),
    );
    const client = createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'nk_test', fetch });
    expect(await client.notify(send)).toEqual(accepted);
    await client.notify(send);
    const keys = seen.map((r) => r.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(seen[0]!.headers.get('authorization')).toBe('Bearer nk_test');
  });

  test('a key of your own is sent as given; idempotencyKeys: false sends none; reads never carry one', async () => {
    const { fetch, seen } = scripted(json(202, { batch_id: 'b1' }), json(202, accepted), json(200, accepted));
    await createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch }).notifyBulk(
      { recipients: [{ user_id: 'u1' }], channels: ['email'], message: 'Hi' },
      { idempotencyKey: 'order-42' },
    );
    const unkeyed = createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch, idempotencyKeys: false });
    await unkeyed.notify(send);
    await createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch }).getNotification('n1');
    expect(seen.map((r) => [r.method, new URL(r.url).pathname, r.headers.get('idempotency-key')])).toEqual([
      ['POST', '/notifications/bulk', 'order-42'],
      ['POST', '/notifications', null],
      ['GET', '/notifications/n1', null],
    ]);
  });

  test('an error answer throws NotifyError with its status, code, message, details and request id', async () => {
    const details = [{ path: 'user_id', message: 'Required' }];
    const { fetch } = scripted(json(422, { error: { code: 'validation_failed', message: 'The request is not valid', details, request_id: 'req-1' } }));
    const error = await createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch })
      .notify(send)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NotifyError);
    expect(error).toMatchObject({ name: 'NotifyError', status: 422, code: 'validation_failed', message: 'The request is not valid', details, requestId: 'req-1' });
  });

  test('an answer not in the error shape is a NotifyError unexpected_response, with the X-Request-Id header', async () => {
    const { fetch } = scripted(new Response('<html>Bad gateway</html>', { status: 502, headers: { 'x-request-id': 'edge-7' } }));
    await expect(createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch }).getNotification('n1')).rejects.toMatchObject({
      status: 502,
      code: 'unexpected_response',
      details: [],
      requestId: 'edge-7',
    });
  });

  test('retries: 0 answers the first 429 as a NotifyError rate_limited', async () => {
    const { fetch, seen } = scripted(json(429, { error: { code: 'rate_limited', message: 'slow down', request_id: 'r2' } }, { 'retry-after': '1' }));
    await expect(createNotifyClient({ baseUrl: 'http://api.test', apiKey: 'k', fetch, retries: 0 }).notify(send)).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
    expect(seen).toHaveLength(1);
  });
});
