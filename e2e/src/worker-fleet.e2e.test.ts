import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification, User } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, type ApiService, type WorkerService } from './processes.js';

/**
 * A fleet of three worker processes for one channel (webhook) against a slow
 * provider: a receiver that takes 100 ms per request and counts every request
 * it gets per delivery (`webhook-id`), so sends are counted where they land,
 * including those of a process killed before it could record them.
 */
const LATENCY_MS = 100;
const CONCURRENCY = 5;
const PER_ROUND = 300;

let t: TestEnv;
let api: ApiService;
let fleet: WorkerService[];
const sends = new Map<string, number>();
const sink = http.createServer((req, res) => {
  const id = String(req.headers['webhook-id']);
  sends.set(id, (sends.get(id) ?? 0) + 1);
  req.resume();
  req.on('end', () => setTimeout(() => res.writeHead(200).end(), LATENCY_MS));
});

beforeAll(async () => {
  t = await createTestEnv();
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const env = {
    WEBHOOK_PROVIDERS: 'webhook',
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_CONCURRENCY: String(CONCURRENCY),
    // A killed worker's jobs go to another within about 5 + 2 s, not the default minute.
    WORKER_LOCK_DURATION_MS: '5000',
    WORKER_STALLED_INTERVAL_MS: '2000',
  };
  api = await startApi(t, env);
  fleet = await Promise.all([0, 1, 2].map(() => startWorker(t, ['webhook'], env)));
  const put = await api.call('PUT', '/users/fleet', { webhook_url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook` });
  expect(put.status).toBe(201);
  expect(((await put.json()) as User).webhook_url).toMatch(/\/hook$/);
}, 120_000);
afterAll(async () => {
  await Promise.all((fleet ?? []).map((w) => w.stop('SIGKILL')));
  await api?.stop('SIGKILL');
  sink.closeAllConnections();
  await new Promise((resolve) => sink.close(resolve));
  await t?.close();
});

/** n notifications to the webhook channel, 25 requests at a time; their delivery ids. */
async function notifyMany(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, async () => {
        const res = await api.call('POST', '/notifications', { user_id: 'fleet', message: 'Hello', channels: ['webhook'] });
        expect(res.status).toBe(202);
        return ((await res.json()) as Notification).deliveries.map((d) => d.id);
      }),
    );
    ids.push(...batch.flat());
  }
  return ids;
}

const undelivered = async (ids: string[]) =>
  (await t.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1::uuid[]) AND status <> 'delivered'`, [ids])).rows[0]!.n;

const allDelivered = (ids: string[]) => waitFor(async () => ((await undelivered(ids)) === 0 ? true : undefined), 90_000, `${ids.length} deliveries delivered`);

/** Deliveries this worker recorded as delivered, from its own /metrics. */
async function deliveredBy(w: WorkerService): Promise<number> {
  const text = await (await fetch(`${w.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('notify_worker_jobs_total{channel="webhook",outcome="delivered"} '));
  return Number(line?.split(' ')[1]);
}

describe('three worker processes for one channel', () => {
  it('send every delivery exactly once, each process taking a share', async () => {
    const ids = await notifyMany(PER_ROUND);
    await allDelivered(ids);
    expect(ids.map((id) => sends.get(id))).toEqual(ids.map(() => 1));
    expect(sends.size).toBe(PER_ROUND);
    const shares = await Promise.all(fleet.map(deliveredBy));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(PER_ROUND);
    for (const share of shares) expect(share).toBeGreaterThan(0);
  }, 120_000);

  it('lose nothing when one is killed mid-load; a resend is only what the killed process had in flight', async () => {
    const before = new Set(sends.keys());
    const pending = notifyMany(PER_ROUND);
    // Mid-load: a fifth of this round has reached the receiver.
    await waitFor(async () => (sends.size - before.size >= PER_ROUND / 5 ? true : undefined), 60_000, 'the round under way');
    const [victim, ...survivors] = fleet as [WorkerService, ...WorkerService[]];
    const victimDelivered = await deliveredBy(victim);
    expect(await victim.stop('SIGKILL')).toBeNull();
    expect(sends.size - before.size).toBeLessThan(PER_ROUND);
    const ids = await pending;
    await allDelivered(ids);

    const counts = ids.map((id) => sends.get(id) ?? 0);
    const duplicates = counts.reduce((sum, n) => sum + n - 1, 0);
    const lost = await undelivered(ids);
    console.log(
      `fleet kill: ${ids.length} accepted, ${ids.length - lost} delivered, ${lost} lost, ${duplicates} duplicates (killed process: concurrency ${CONCURRENCY}, ${victimDelivered} delivered before the kill)`,
    );
    expect(counts.every((n) => n >= 1)).toBe(true);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    fleet = survivors;
  }, 180_000);
});
