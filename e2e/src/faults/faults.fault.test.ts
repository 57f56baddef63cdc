import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { insertNotifications, planNotification, resolveSpec } from '@notify/core/notifications';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalCluster, waitFor, type LocalCluster } from '@notify/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { Deployment, formatTable, load, outage, type FaultRow } from './harness.js';

/**
 * The fault suite (`npm run test:faults`): each scenario breaks a real
 * deployment (built API and worker processes, real PostgreSQL and Redis) and
 * checks the promise: every accepted notification ends delivered or failed,
 * none lost; duplicate sends only where a worker died mid-send.
 */
const rows: FaultRow[] = [];
let current: Deployment | null = null;

async function scenario(name: string, body: (d: Deployment) => Promise<FaultRow>, apiEnv: Record<string, string> = {}, cluster?: LocalCluster) {
  const d = await Deployment.start(apiEnv, cluster);
  current = d;
  try {
    const row = await body(d);
    rows.push(row);
    expect(row.lost, `${name}: lost`).toBe(0);
    return row;
  } finally {
    current = null;
    await d.close();
  }
}

afterAll(async () => {
  await current?.close();
  const table = formatTable(rows);
  const dir = path.resolve(import.meta.dirname, '../../results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'faults.md'), `${table}\n`);
  writeFileSync(path.join(dir, 'faults.json'), `${JSON.stringify(rows, null, 2)}\n`);
  console.log(`\nFault suite\n${table}\n`);
});

describe('fault suite', () => {
  it('1. SIGKILL every worker of a channel with 500 jobs in flight, then restart them', async () => {
    await scenario('SIGKILL workers mid-send', async (d) => {
      await d.startWorkers(2, { IN_APP_CONCURRENCY: '250', SIMULATED_LATENCY_MS: '8000' });
      const ids = await d.notifyMany(500);
      await waitFor(async () => ((await d.countDeliveries('sending')) >= 500 ? true : undefined), 20_000, '500 sends in flight');
      await d.stopWorkers('SIGKILL');
      await d.startWorkers(2, { IN_APP_CONCURRENCY: '250', SIMULATED_LATENCY_MS: '50' });
      const r = await d.settle(ids, 60_000);
      expect(r.delivered).toBe(500);
      expect(r.duplicates).toBeLessThanOrEqual(d.stalled);
      return { scenario: '1 SIGKILL all workers, 500 in flight', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: r.seconds };
    });
  });

  it('2. SIGTERM with jobs in flight lets them finish: nothing stalls', async () => {
    await scenario('SIGTERM', async (d) => {
      await d.startWorkers(1, { IN_APP_CONCURRENCY: '100', SIMULATED_LATENCY_MS: '2000' });
      const ids = await d.notifyMany(100);
      await waitFor(async () => ((await d.countDeliveries('sending')) >= 100 ? true : undefined), 20_000, '100 sends in flight');
      const [code] = await d.stopWorkers('SIGTERM');
      expect(code).toBe(0);
      expect((await d.summary(ids)).delivered).toBe(100);
      await d.startWorkers(1);
      const r = await d.settle(ids, 30_000);
      expect(d.stalled).toBe(0);
      expect(r.duplicates).toBe(0);
      return { scenario: '2 SIGTERM, 100 in flight', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: 0 };
    });
  });

  it('3. a crash between the database commit and the queue add: the sweeper delivers', async () => {
    await scenario('crash after commit', async (d) => {
      // What the API commits before its process dies: rows in PostgreSQL, no jobs in Redis.
      const spec = await resolveSpec(d.t.db, d.t.appId, { message: 'x', channels: ['in_app'], priority: 'normal' });
      const planned = Array.from({ length: 100 }, (_, i) => planNotification(spec, `c-${i}`, undefined, undefined, new Date()));
      await insertNotifications(d.t.db.pool, planned);
      expect(await d.t.queues.in_app.count()).toBe(0);
      await d.startWorkers(1);
      const r = await d.settle(
        planned.map((p) => p.id),
        30_000,
      );
      expect(r.delivered).toBe(100);
      return { scenario: '3 crash between commit and enqueue', accepted: planned.length, ...counts(r), stalled: d.stalled, recover_s: r.seconds };
    });
  });

  it('4. Redis unreachable for 10 s under load: 503 during, every accepted one delivered', async () => {
    await scenario('Redis outage', async (d) => {
      await d.startWorkers(2, { IN_APP_CONCURRENCY: '50', SIMULATED_LATENCY_MS: '20' });
      const restored = outage(d.redisProxy, 4000, 10_000);
      const { ids, byStatus, recoveredAfter } = await load(d, 40, 18);
      const recover = recoveredAfter(await restored);
      expect(byStatus.get(503) ?? 0).toBeGreaterThan(0);
      expect([...byStatus.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
      const r = await d.settle(ids, 60_000);
      return { scenario: '4 Redis down 10 s under load', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: recover };
    });
  });

  it('5. PostgreSQL unreachable for 10 s under load: 503 during, every accepted one delivered', async () => {
    await scenario('PostgreSQL outage', async (d) => {
      await d.startWorkers(2, { IN_APP_CONCURRENCY: '50', SIMULATED_LATENCY_MS: '20' });
      const restored = outage(d.pg, 4000, 10_000);
      const { ids, byStatus, recoveredAfter } = await load(d, 40, 18);
      const recover = recoveredAfter(await restored);
      expect(byStatus.get(503) ?? 0).toBeGreaterThan(0);
      expect([...byStatus.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
      const r = await d.settle(ids, 60_000);
      return { scenario: '5 PostgreSQL down 10 s under load', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: recover };
    });
  });

  it('6. 50 concurrent requests with one idempotency key create exactly one notification', async () => {
    await scenario('idempotency', async (d) => {
      await d.startWorkers(1);
      const answers = await Promise.all(Array.from({ length: 50 }, () => d.notify('same-user', { 'idempotency-key': 'once' })));
      const ids = [...new Set(answers.flatMap((a) => (a.id ? [a.id] : [])))];
      expect(ids).toHaveLength(1);
      expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
      expect(await d.t.db.prisma.notification.count()).toBe(1);
      const other = await d.notify('same-user', { 'idempotency-key': 'once' }, 'another body');
      expect(other.status).toBe(422);
      const r = await d.settle(ids, 20_000);
      return { scenario: '6 50 requests, one Idempotency-Key', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: null };
    });
  });

  it('7. provider errors: permanent fails at once, transient retries, a replayed dead letter is delivered once', async () => {
    await scenario('provider errors', async (d) => {
      await d.startWorkers(1, { SIMULATED_FAILURE_RATE: '1', SIMULATED_PERMANENT: 'true' });
      const permanent = await d.notifyMany(20);
      const p = await d.settle(permanent, 20_000);
      expect(p.failed).toBe(20);
      const attempts = await d.t.db.pool.query<{ attempts: number }>('SELECT DISTINCT attempts FROM deliveries');
      expect(attempts.rows).toEqual([{ attempts: 1 }]);
      rows.push({ scenario: '7a permanent provider error', accepted: permanent.length, ...counts(p), stalled: d.stalled, recover_s: null });

      await d.stopWorkers('SIGTERM');
      await d.startWorkers(1, { SIMULATED_FAIL_FIRST: '2' });
      const transient = await d.notifyMany(20);
      const tr = await d.settle(transient, 30_000);
      expect(tr.delivered).toBe(20);
      rows.push({ scenario: '7b transient errors, retried', accepted: transient.length, ...counts(tr), stalled: d.stalled, recover_s: null });

      await d.stopWorkers('SIGTERM');
      await d.startWorkers(1);
      const res = await d.api.call('POST', '/deliveries/retry', { channel: 'in_app', error_code: 'simulated_permanent' });
      expect(((await res.json()) as { replayed: number }).replayed).toBe(20);
      const rp = await d.settle(permanent, 30_000);
      expect(rp.delivered).toBe(20);
      expect(rp.duplicates).toBe(0);
      return { scenario: '7c replay of the 20 dead letters', accepted: permanent.length, ...counts(rp), stalled: d.stalled, recover_s: rp.seconds };
    });
  });

  it('8. Redis loses every queued job: the outbox puts them back', async () => {
    await scenario('Redis data loss', async (d) => {
      const ids = await d.notifyMany(200);
      expect(await d.t.queues.in_app.count()).toBe(200);
      await d.t.queues.in_app.obliterate({ force: true });
      expect(await d.t.queues.in_app.count()).toBe(0);
      await d.startWorkers(1);
      const r = await d.settle(ids, 30_000);
      expect(r.delivered).toBe(200);
      return { scenario: '8 Redis loses all queued jobs', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: r.seconds };
    });
  });

  it('9. SIGKILL the Redis Cluster master of the queue under load: its replica takes over, every accepted one delivered', async () => {
    // Six nodes, one replica per master; a master silent for 2 s is replaced.
    const cluster = await startLocalCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 2000 });
    try {
      await scenario(
        'Redis Cluster failover',
        async (d) => {
          await d.startWorkers(2, { IN_APP_CONCURRENCY: '50', SIMULATED_LATENCY_MS: '20' });
          const slot = Number(await d.t.redis.cluster('KEYSLOT', d.t.queues.in_app.toKey('any')));
          const owner = (await d.t.redis.cluster('SLOTS')).find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
          if (owner === undefined || !cluster.ports.includes(owner)) throw new Error(`no master of the cluster serves slot ${slot}`);
          const killed = (async () => {
            await sleep(4000);
            await cluster.kill(owner, 'SIGKILL');
            return performance.now();
          })();
          const { ids, byStatus, recoveredAfter } = await load(d, 40, 16);
          const recover = recoveredAfter(await killed);
          // A replica took the dead master's place: three masters again, the killed one not among them.
          const masters = await cluster.masterPorts();
          expect(masters).toHaveLength(3);
          expect(masters).not.toContain(owner);
          expect([...byStatus.keys()].filter((s) => s !== 202 && s !== 503)).toEqual([]);
          const r = await d.settle(ids, 90_000);
          return { scenario: '9 Redis Cluster master SIGKILL, replica promoted', accepted: ids.length, ...counts(r), stalled: d.stalled, recover_s: recover };
        },
        {},
        cluster,
      );
    } finally {
      await cluster.stop();
    }
  });
});

function counts(r: { delivered: number; failed: number; lost: number; duplicates: number }) {
  return { delivered: r.delivered, failed: r.failed, lost: r.lost, duplicates: r.duplicates };
}
