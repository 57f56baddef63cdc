import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { QUEUE, queuePrefix, type DeliveryJob } from '@notify/core/platform';
import type { BenchEnv } from './bench-env.js';
import { formatCpu, withCpu, type CpuUsage } from './cpu.js';
import { deliveryStats, waitUntilFinished, type DeliveryStats } from './delivery-stats.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { repeat, type Repeated, type ServiceHandle } from './repetitions.js';
import { BENCH_CHANNEL, type Deployment } from './service-processes.js';
import { round } from './stats.js';

export interface PriorityRep {
  /** Low-priority jobs waiting when the first critical notification was sent. */
  backlog: number;
  /** Still waiting when the last critical notification had been accepted. */
  backlogAtEnd: number;
  /** Seconds the API took to accept the backlog (bulk requests). */
  backlogSeconds: number;
  critical: number;
  refused: string[];
  /** Accept-to-delivered of the critical notifications. */
  delivery: DeliveryStats;
  cpu: CpuUsage;
}

/**
 * Critical notifications behind a low-priority backlog. The backlog is made
 * through the service itself (bulk requests, priority low), so rows and jobs
 * have exactly the production shape; the channel's queue is paused meanwhile
 * so that all of it is waiting when the measurement starts, then resumed, and
 * the worker is busy with it while critical notifications arrive one at a
 * time at `criticalRate`. Afterwards the rest of the backlog is cancelled
 * (rows marked, jobs drained) instead of delivered, which at the service's
 * current speed would take minutes per repetition.
 */
export async function measurePriority(b: BenchEnv, service: ServiceHandle, o: BenchOptions): Promise<Repeated<PriorityRep>> {
  const queue = new Queue<DeliveryJob>(QUEUE[BENCH_CHANNEL], { connection: b.redis, prefix: queuePrefix(b.prefix, QUEUE[BENCH_CHANNEL]) });
  try {
    return await repeat('priority', o.reps, service, async (rep, d) => {
      d.assertAlive();
      const low = await b.newApp(`priority-low-r${rep}`);
      const critical = await b.newApp(`priority-critical-r${rep}`);
      await queue.pause();
      try {
        const started = performance.now();
        await createBacklog(d, low.key, o.backlog, rep);
        const backlogSeconds = (performance.now() - started) / 1000;
        const backlog = await queue.getPrioritizedCount();
        await queue.resume();
        // Let the worker pick up the backlog first: the critical ones must find it busy.
        await sleep(500);
        const { result: sent, cpu } = await withCpu(b.db.pool, { api: d.api.pid, worker: d.worker.pid }, () => sendCritical(d, critical.key, o.criticalRate, o.criticalSeconds));
        const backlogAtEnd = await queue.getPrioritizedCount();
        if ((await waitUntilFinished(b, critical.appId, 60_000, () => d.assertAlive())) === null) {
          throw new Error('critical notifications not delivered within 60 s');
        }
        const delivery = await deliveryStats(b, critical.appId);
        const r: PriorityRep = { backlog, backlogAtEnd, backlogSeconds, critical: sent.accepted, refused: sent.refused, delivery, cpu };
        progress(
          `priority rep ${rep}: ${r.critical} critical behind ${backlog} low-priority jobs (${backlogAtEnd} still waiting at the end): ` +
            `accept-to-delivered p50 ${round(delivery.p50Ms ?? NaN, 0)} p99 ${round(delivery.p99Ms ?? NaN, 0)} max ${round(delivery.maxMs ?? NaN, 0)} ms` +
            (sent.refused.length ? `, ${sent.refused.length} refused: ${sent.refused[0]}` : '') +
            ` | ${formatCpu(cpu)}`,
        );
        return r;
      } finally {
        await cancelBacklog(b, queue, low.appId);
        // Bounded and quiet: after a failure this must not hang or hide the original error.
        await waitUntilFinished(b, low.appId, 120_000, () => d.assertAlive()).catch(() => null);
      }
    });
  } finally {
    await queue.close();
  }
}

async function createBacklog(d: Deployment, key: string, size: number, rep: number): Promise<void> {
  const requests = Math.ceil(size / 1000);
  let next = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (next < requests) {
        const i = next++;
        const recipients = Array.from({ length: 1000 }, (_, j) => ({ user_id: `low${rep}-${i}-${j}` }));
        const res = await fetch(`${d.url}/notifications/bulk`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'Benchmark low-priority notification', channels: [BENCH_CHANNEL], priority: 'low', recipients }),
        });
        if (res.status !== 202) throw new Error(`backlog request answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
        await res.arrayBuffer();
      }
    }),
  );
}

/** One POST at a time on a fixed schedule (not after the previous answer), as independent callers would. */
async function sendCritical(d: Deployment, key: string, rate: number, seconds: number): Promise<{ accepted: number; refused: string[] }> {
  const count = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const started = performance.now();
  const refused: string[] = [];
  let accepted = 0;
  const calls: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = started + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    calls.push(
      fetch(`${d.url}/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: `c-${i}`, message: 'Benchmark critical notification', channels: [BENCH_CHANNEL], priority: 'critical' }),
      }).then(
        async (res) => {
          if (res.status === 202) {
            accepted++;
            await res.arrayBuffer();
          } else refused.push(`${res.status}: ${(await res.text()).slice(0, 200)}`);
        },
        (err: unknown) => {
          refused.push(String(err));
        },
      ),
    );
  }
  await Promise.all(calls);
  return { accepted, refused };
}

/** Ends the rest of the backlog without sending it: rows cancelled first (so the outbox sweeper leaves them), then jobs removed. */
async function cancelBacklog(b: BenchEnv, queue: Queue<DeliveryJob>, appId: string): Promise<void> {
  await queue.pause();
  await b.db.pool.query(`UPDATE deliveries SET status = 'cancelled', reason = 'bench_cleanup', updated_at = now() WHERE app_id = $1 AND status = 'queued'`, [appId]);
  await queue.drain();
  await queue.resume();
}
