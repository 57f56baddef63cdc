import { createNotifyClient, NotifyError } from '@notify/client';
import { verifyWebhook, WebhookVerificationError } from '@notify/client/webhooks';
import { createTestEnv, startWebhookReceiver, waitFor, type TestEnv, type WebhookReceiver } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, type ApiService, type Service } from './processes.js';

/**
 * @notify/client against the built API and worker: its default Idempotency-Key
 * makes a retried send one notification, an error answer is a NotifyError, a
 * 429 is waited out as Retry-After says, and verifyWebhook accepts the
 * worker's signed webhooks (the webhook channel and a status webhook) and
 * refuses them tampered or late.
 */
let t: TestEnv;
let api: ApiService;
let worker: Service;
const receivers: WebhookReceiver[] = [];

const env = { WEBHOOK_PROVIDERS: 'webhook', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' };

beforeAll(async () => {
  t = await createTestEnv();
  [api, worker] = await Promise.all([startApi(t, env), startWorker(t, ['webhook'], env)]);
});
afterAll(async () => {
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM'), ...receivers.map((r) => r.close())]);
  await t?.close();
});

/** Every request the client sent and what became of it, in order. */
function recordingFetch(loseFirstResponse = false) {
  const attempts: Array<{ method: string; path: string; key: string | null; at: number; status: number | 'network error'; replayed: string | null }> = [];
  const fetch = async (request: Request) => {
    const at = Date.now();
    const entry = { method: request.method, path: new URL(request.url).pathname, key: request.headers.get('idempotency-key'), at };
    const response = await globalThis.fetch(request);
    attempts.push({ ...entry, status: response.status, replayed: response.headers.get('idempotency-replay') });
    // The API accepted the send, but its answer is lost on the way back, as when a connection drops.
    if (loseFirstResponse && attempts.length === 1) {
      attempts[0]!.status = 'network error';
      throw new TypeError('fetch failed');
    }
    return response;
  };
  return { fetch, attempts };
}

describe('@notify/client against the real API', () => {
  it('sends with a default Idempotency-Key: a send whose answer was lost is retried with the same key and makes one notification', async () => {
    const { fetch, attempts } = recordingFetch(true);
    const client = createNotifyClient({ baseUrl: api.url, apiKey: api.key, fetch, retries: { retries: 2, baseDelayMs: 50 } });
    expect((await api.call('PUT', '/users/client-idem', {})).status).toBeLessThan(300);

    const sent = await client.notify({ user_id: 'client-idem', channels: ['in_app'], message: 'Your order shipped' });
    expect(attempts.map((a) => [a.method, a.path, a.status, a.replayed])).toEqual([
      ['POST', '/notifications', 'network error', null],
      ['POST', '/notifications', 202, 'true'],
    ]);
    expect(attempts[0]!.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(attempts[1]!.key).toBe(attempts[0]!.key);
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: 'client-idem' } })).toBe(1);

    // Read back, typed: the one notification, by the id the replay answered.
    expect('id' in sent).toBe(true);
    const id = (sent as { id: string }).id;
    const read = await client.getNotification(id);
    expect(read).toMatchObject({ id, user_id: 'client-idem' });
    expect(read.deliveries.map((d) => d.channel)).toEqual(['in_app']);
  });

  it('an invalid send surfaces as NotifyError with the code, details and request id of the one error shape', async () => {
    const client = createNotifyClient({ baseUrl: api.url, apiKey: api.key });
    const error = await client.notify({ user_id: 'client-idem', channels: ['in_app'] }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NotifyError);
    const { status, code, details, requestId } = error as NotifyError;
    expect({ status, code }).toEqual({ status: 422, code: 'validation_failed' });
    expect(details.length).toBeGreaterThan(0);
    expect(details[0]).toEqual({ path: expect.any(String), message: expect.any(String) });
    expect(requestId).toMatch(/\S{8,}/);

    const missing = await client.getNotification('00000000-0000-4000-8000-000000000000').catch((err: unknown) => err);
    expect(missing).toMatchObject({ name: 'NotifyError', status: 404, code: 'not_found' });
  });

  it('waits out a 429 as Retry-After says and then succeeds', async () => {
    // An API of its own, allowing one request per second per key, on the same database.
    const limited = await startApi(t, { ...env, RATE_LIMIT_PER_SECOND: '1' });
    try {
      const { fetch, attempts } = recordingFetch();
      const client = createNotifyClient({ baseUrl: limited.url, apiKey: limited.key, fetch, retries: 5 });
      const sends = await Promise.all(['a', 'b', 'c'].map((n) => client.notify({ user_id: 'client-idem', channels: ['in_app'], message: `rate ${n}` })));
      expect(sends.every((s) => 'id' in s)).toBe(true);

      const limitedAttempts = attempts.filter((a) => a.status === 429);
      expect(limitedAttempts.length).toBeGreaterThanOrEqual(1);
      for (const refused of limitedAttempts) {
        // Its retry: the next attempt with the same key, at least the Retry-After second later (less a little clock slack).
        const retry = attempts.find((a) => a.key === refused.key && a.at > refused.at);
        expect(retry).toBeDefined();
        expect(retry!.at - refused.at).toBeGreaterThanOrEqual(900);
      }
      expect(attempts.filter((a) => a.status === 202)).toHaveLength(3);
    } finally {
      await limited.stop('SIGTERM');
    }
  });

  it('verifyWebhook accepts the worker’s signed webhooks, the channel’s and a status webhook, and refuses them tampered or late', async () => {
    const placeholder = 'whsec_cGxhY2Vob2xkZXJwbGFjZWhvbGRlcnBsYWNl';
    const [channelRx, statusRx] = await Promise.all([startWebhookReceiver({ secret: placeholder }), startWebhookReceiver({ secret: placeholder })]);
    receivers.push(channelRx, statusRx);
    const user = (await (await api.call('PUT', '/users/client-hooks', { webhook_url: `${channelRx.origin}/hooks` })).json()) as { webhook_secret: string };
    channelRx.useSecret(user.webhook_secret);
    const endpoint = (await (await api.call('POST', '/webhooks', { url: `${statusRx.origin}/status` })).json()) as { secret: string };
    statusRx.useSecret(endpoint.secret);

    const client = createNotifyClient({ baseUrl: api.url, apiKey: api.key });
    const sent = await client.notify({ user_id: 'client-hooks', channels: ['webhook'], message: 'Signed for you' });
    const id = (sent as { id: string }).id;
    const channelHook = await waitFor(async () => channelRx.requests[0], 30_000, 'the webhook channel’s delivery');
    const statusHook = await waitFor(
      async () => statusRx.requests.find((r) => (r.payload as { type?: string } | null)?.type === 'notification.completed'),
      30_000,
      'a status webhook',
    );

    for (const [secret, hook] of [
      [user.webhook_secret, channelHook],
      [endpoint.secret, statusHook],
    ] as const) {
      const body = hook.rawBody.toString('utf8');
      expect(verifyWebhook(secret, hook.headers, body)).toEqual(JSON.parse(body));
      expect(JSON.stringify(verifyWebhook(secret, hook.headers, hook.rawBody))).toContain(id);
      expect(() =>
        verifyWebhook(
          secret,
          hook.headers,
          body.replace(
            id,
            id.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
          ),
        ),
      ).toThrow(WebhookVerificationError);
      const sentAt = Number(hook.headers['webhook-timestamp']) * 1000;
      expect(() => verifyWebhook(secret, hook.headers, body, new Date(sentAt + 6 * 60_000))).toThrow('within 5 minutes');
      expect(() => verifyWebhook(placeholder, hook.headers, body)).toThrow('no webhook-signature matches');
    }
  });
});
