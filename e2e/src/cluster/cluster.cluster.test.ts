import { insertNotifications, planNotification, resolveSpec } from '@notify/core/notifications';
import { EVENTS_QUEUE, FANOUT_QUEUE, QUEUE, queuePrefix } from '@notify/core/platform';
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, sseReader, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization, startApi, startWorker, type ApiService, type Service } from '../processes.js';

/**
 * The built API and worker processes on a real Redis Cluster (three masters
 * unless REDIS_CLUSTER_NODES names another): what a cluster could break —
 * keys of one queue on several slots, pipelines across nodes, pub/sub
 * between replicas, counters shared by replicas — works end to end.
 */
let t: TestEnv;
let api: ApiService;
let other: ApiService;
const workers: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  [api, other] = await Promise.all([startApi(t), startApi(t)]);
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGTERM')));
  workers.length = 0;
});
afterAll(async () => {
  await Promise.all([api, other].map((s) => s?.stop('SIGKILL')));
  await t?.close();
});

async function worker(channels: string[], env: Record<string, string> = {}): Promise<Service> {
  const w = await startWorker(t, channels, env);
  workers.push(w);
  return w;
}

async function post(body: Record<string, unknown>, via = api): Promise<string> {
  const res = await via.call('POST', '/notifications', body);
  expect(res.status).toBe(202);
  return ((await res.json()) as Notification).id;
}

async function finished(id: string): Promise<Notification> {
  return waitFor(
    async () => {
      const n = (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
      return n.status === 'pending' ? undefined : n;
    },
    30_000,
    `notification ${id} to finish`,
  );
}

describe('on a Redis Cluster', () => {
  it('gives every queue its own hash tag: its own slot, and not all on one master', async () => {
    const names = [...Object.values(QUEUE), FANOUT_QUEUE, EVENTS_QUEUE];
    const slots = await Promise.all(names.map(async (name) => Number(await t.redis.cluster('KEYSLOT', `${queuePrefix(t.env.QUEUE_PREFIX, name)}:${name}:wait`))));
    const ranges = await t.redis.cluster('SLOTS');
    const masterOf = (slot: number) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
    expect(new Set(slots).size).toBe(names.length);
    // Slots are fixed by the names (README "Redis Cluster" lists them); which master serves each is the cluster's layout.
    expect(new Set(slots.map(masterOf)).size).toBeGreaterThanOrEqual(Math.min(2, ranges.length));
  });

  it('delivers on three channels, and /metrics shows what the workers counted in Redis', async () => {
    await worker(['email', 'sms', 'in_app']);
    expect((await api.call('PUT', '/users/ada', { email: 'ada@example.com', phone: '+14155550100' })).status).toBe(201);
    const done = await finished(await post({ user_id: 'ada', message: 'Hello', channels: ['email', 'sms', 'in_app'] }));
    expect(done.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ['email', 'delivered'],
      ['sms', 'delivered'],
      ['in_app', 'delivered'],
    ]);
    // Workers flush their counts to Redis (one pipeline, one slot) each second; the API reads them back.
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${api.url}/metrics`, { headers: { authorization: adminAuthorization } })).text();
      return /notify_deliveries_total\{channel="sms",provider="console",outcome="delivered"\} 1/.test(text) ? text : undefined;
    });
    // The queue gauges read the cluster too; a completed delivery job is removed at once.
    expect(metrics).toMatch(/notify_queue_jobs\{queue="notify.email",state="completed"\} 0/);
    expect(metrics).toMatch(/notify_queue_jobs\{queue="notify.email",state="waiting"\} 0/);
  });

  it('honours priorities: a critical notification overtakes a waiting backlog', async () => {
    const user = 'prio';
    const low = [];
    for (let i = 0; i < 20; i++) low.push(await post({ user_id: user, message: `low ${i}`, channels: ['in_app'], priority: 'low' }));
    const critical = await post({ user_id: user, message: 'now', channels: ['in_app'], priority: 'critical' });
    await worker(['in_app'], { IN_APP_CONCURRENCY: '1' });
    await Promise.all([...low, critical].map(finished));
    const { rows } = await t.db.pool.query<{ notification_id: string }>(
      `SELECT d.notification_id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.notification_id = ANY($1::uuid[]) ORDER BY a.created_at, a.id`,
      [[...low, critical]],
    );
    expect(rows[0]?.notification_id).toBe(critical);
  });

  it('retries with exponential backoff', async () => {
    await worker(['sms'], { SMS_PROVIDERS: 'simulated', SIMULATED_FAIL_FIRST: '2', RETRY_BASE_DELAY_MS: '400' });
    await api.call('PUT', '/users/grace', { phone: '+14155550101' });
    const done = await finished(await post({ user_id: 'grace', message: 'Retry me', channels: ['sms'] }));
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    const { rows } = await t.db.pool.query<{ outcome: string; at: Date }>('SELECT outcome, created_at AS at FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt', [
      done.deliveries[0]!.id,
    ]);
    expect(rows.map((r) => r.outcome)).toEqual(['retryable_error', 'retryable_error', 'delivered']);
    const [first, second] = [rows[1]!.at.getTime() - rows[0]!.at.getTime(), rows[2]!.at.getTime() - rows[1]!.at.getTime()];
    // 400 ms then 800 ms (attempt rows are stamped when written, so allow some slack).
    expect(first).toBeGreaterThanOrEqual(300);
    expect(second).toBeGreaterThanOrEqual(700);
  });

  it('streams an inbox item to a client of one API process for a notification posted to the other', async () => {
    await worker(['in_app']);
    const stream = await other.call('GET', '/users/sse/inbox/stream');
    const events = sseReader(stream.body!);
    expect((await events.next()).event).toBe('ready');
    const id = await post({ user_id: 'sse', subject: 'Across', message: 'replicas', channels: ['in_app'] });
    const item = await events.next(10_000);
    expect(item.event).toBe('item');
    expect(JSON.parse(item.data)).toMatchObject({ notification_id: id, title: 'Across' });
    await events.close();
  });

  it('shares the per-key rate limit between two API processes', async () => {
    const limited = await Promise.all([startApi(t, { RATE_LIMIT_PER_SECOND: '5' }), startApi(t, { RATE_LIMIT_PER_SECOND: '5' })]);
    const headers = { authorization: `Bearer ${limited[0].key}` };
    try {
      // One key, eight requests to each process at once. Counted in Redis, its budget of 5 lets 5 through
      // in all; counted per process it would be 10. A burst may straddle two one-second windows: try again then.
      let ok = 0;
      for (let burst = 0; burst < 3 && ok !== 5; burst++) {
        const answers = await Promise.all(limited.flatMap((s) => Array.from({ length: 8 }, () => fetch(`${s.url}/categories`, { headers }))));
        ok = answers.filter((r) => r.status === 200).length;
        expect(answers.filter((r) => r.status !== 200).every((r) => r.status === 429 && Number(r.headers.get('retry-after')) >= 1)).toBe(true);
        await new Promise((r) => setTimeout(r, 1100));
      }
      expect(ok).toBe(5);
    } finally {
      await Promise.all(limited.map((s) => s.stop('SIGTERM')));
    }
  });

  it('the outbox sweeper delivers what was committed but never enqueued (a crash in between)', async () => {
    const spec = await resolveSpec(t.db, t.appId, { message: 'x', channels: ['in_app'], priority: 'normal' });
    const planned = Array.from({ length: 30 }, (_, i) => planNotification(spec, `crash-${i}`, undefined, undefined, new Date()));
    await insertNotifications(t.db.pool, planned);
    expect(await t.queues.in_app.count()).toBe(0);
    await worker(['in_app'], { SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '500' });
    const delivered = await waitFor(
      async () => {
        const { rows } = await t.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE notification_id = ANY($1::uuid[]) AND status = 'delivered'`, [
          planned.map((p) => p.id),
        ]);
        return rows[0]!.n === planned.length ? rows[0]!.n : undefined;
      },
      30_000,
      'the swept deliveries',
    );
    expect(delivered).toBe(30);
  });
});
