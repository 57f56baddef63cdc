import type { Notification } from '@notify/core/schemas';
import { createTestEnv, startSmtpTestServer, startWebhookReceiver, waitFor, type TestEnv } from '@notify/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization, startApi, startWorker, type ApiService, type Service } from './processes.js';

/**
 * Operations, with the built processes: a request id followed from the API
 * into the worker's logs, metrics that move as deliveries happen, status
 * webhooks delivered signed, and no personal data in any log line or Redis key.
 */
const PII = {
  email: 'pii.person.4471@example.com',
  phone: '+14155559876',
  message: 'Secret message body 7f3a',
  subject: 'Secret subject 9c2e',
};

let t: TestEnv;
let api: ApiService;
let worker: Service;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM')]);
  await Promise.all(closers.map((c) => c()));
  await t?.close();
});

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`, { headers: { authorization: adminAuthorization } })).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Every value stored under the test's key prefix, as text. */
async function redisContents(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      parts.push(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

describe('operations', () => {
  it('follows a request id into the worker, moves the metrics, signs status webhooks, and keeps personal data out of logs and Redis', async () => {
    const smtp = await startSmtpTestServer();
    const statusRx = await startWebhookReceiver({ secret: 'whsec_placeholderplaceholderplaceholder' });
    closers.push(
      () => smtp.close(),
      () => statusRx.close(),
    );
    const env = {
      EMAIL_PROVIDERS: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      SMS_PROVIDERS: 'console',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'debug',
    };
    api = await startApi(t, env);
    worker = await startWorker(t, ['email', 'sms', 'in_app'], env);

    const hook = (await (await api.call('POST', '/webhooks', { url: `${statusRx.origin}/status` })).json()) as { secret: string };
    statusRx.useSecret(hook.secret);
    expect((await api.call('PUT', '/users/pii-user', { email: PII.email, phone: PII.phone })).status).toBe(201);

    const deliveredBefore = await metric(/notify_deliveries_total\{channel="email",provider="smtp",outcome="delivered"\} (\d+)/);
    const res = await api.call(
      'POST',
      '/notifications',
      { user_id: 'pii-user', subject: PII.subject, message: PII.message, channels: ['email', 'sms', 'in_app'] },
      { 'x-request-id': 'req-trace-123' },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('req-trace-123');
    const { id } = (await res.json()) as Notification;
    const done = await waitFor(async () => {
      const n = (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
      return n.status === 'pending' ? undefined : n;
    });
    expect(done).toMatchObject({ status: 'delivered', request_id: 'req-trace-123' });
    expect(smtp.received[0]!.mail.subject).toBe(PII.subject);

    // The request id, from the API's access log into each delivery's worker log lines.
    const workerLines = worker
      .output()
      .split('\n')
      .filter((l) => l.includes('"request_id":"req-trace-123"'));
    expect(workerLines.length).toBeGreaterThanOrEqual(3);
    expect(api.output()).toMatch(/"request_id":"req-trace-123".*"path":"\/notifications"/);

    // Metrics move as deliveries happen (workers flush to Redis every second).
    await waitFor(async () => ((await metric(/notify_deliveries_total\{channel="email",provider="smtp",outcome="delivered"\} (\d+)/)) === deliveredBefore + 1 ? true : undefined));
    expect(await metric(/notify_accept_to_delivered_seconds_count\{channel="email",priority="normal"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(await metric(/http_requests_total\{method="POST",route="\/notifications",status="202"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    // The queue gauge is there; a completed delivery job is removed at once (the deliveries table is the record).
    expect(await metric(/notify_queue_jobs\{queue="notify.email",state="completed"\} (\d+)/)).toBe(0);

    // Status webhooks: three deliveries and the completion, each signed.
    await waitFor(async () => (statusRx.requests.length >= 4 ? true : undefined));
    expect(statusRx.requests.every((r) => r.verified)).toBe(true);
    expect(statusRx.requests.map((r) => (r.payload as { type: string }).type).sort()).toEqual([
      'delivery.delivered',
      'delivery.delivered',
      'delivery.delivered',
      'notification.completed',
    ]);

    // No email address, phone number, message or subject in any log line or Redis value.
    const logs = `${api.output()}\n${worker.output()}`;
    const redis = new Redis(t.env.REDIS_URL);
    const stored = await redisContents(redis, t.env.QUEUE_PREFIX);
    redis.disconnect();
    expect(stored.length).toBeGreaterThan(1000);
    for (const secret of Object.values(PII)) {
      expect(logs).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });
});
