import type { BenchEnv } from './bench-env.js';
import { formatCpu, withCpu, type CpuUsage } from './cpu.js';
import { deliveryStats, waitUntilFinished, type DeliveryStats } from './delivery-stats.js';
import type { BenchOptions } from './options.js';
import { formatActivity, pgActivity, pgCounters, type PgActivity } from './pg-activity.js';
import { progress } from './progress.js';
import { repeat, type Repeated, type ServiceHandle } from './repetitions.js';
import { BENCH_CHANNEL, type Deployment } from './service-processes.js';
import { round } from './stats.js';

/** Requests of 1,000 recipients in flight at once: enough to keep the API busy without queueing at the client. */
const IN_FLIGHT = 2;

export interface BulkRep {
  notifications: number;
  /** Deliveries per second from the first request sent to the last delivery recorded. */
  deliveriesPerSecond: number;
  /** Notifications per second from the first request sent to the last 202. */
  acceptedPerSecond: number;
  /** Median time the API took per 1,000-recipient request, ms. */
  requestMsP50: number;
  refused: string[];
  delivery: DeliveryStats;
  cpu: CpuUsage;
  pgActivity: PgActivity;
}

/**
 * Sends `notifications` (rounded up to a thousand) through POST /notifications/bulk,
 * 1,000 recipients per request, IN_FLIGHT at a time; user ids start with
 * `users`. Returns each request's duration (ms) and the answers that were not 202.
 */
export async function postBulk(d: Deployment, key: string, notifications: number, users: string): Promise<{ durations: number[]; refused: string[] }> {
  const requests = Math.ceil(notifications / 1000);
  const durations: number[] = [];
  const refused: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < requests) {
        const i = next++;
        const recipients = Array.from({ length: 1000 }, (_, j) => ({ user_id: `${users}-${i}-${j}` }));
        const t = performance.now();
        const res = await fetch(`${d.url}/notifications/bulk`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'Benchmark bulk notification', channels: [BENCH_CHANNEL], recipients }),
        });
        durations.push(performance.now() - t);
        if (res.status !== 202) refused.push(`${res.status}: ${(await res.text()).slice(0, 200)}`);
        else await res.arrayBuffer();
      }
    }),
  );
  return { durations, refused };
}

/**
 * POST /notifications/bulk with 1,000 recipients per request, IN_FLIGHT at a
 * time, until `bulkNotifications` are accepted; then wait for every delivery.
 * The clock starts before the first request and stops at the last
 * delivered_at PostgreSQL recorded (this machine's clock for both).
 */
export async function measureBulk(b: BenchEnv, service: ServiceHandle, o: BenchOptions): Promise<Repeated<BulkRep>> {
  return repeat('bulk', o.reps, service, async (rep, d) => {
    d.assertAlive();
    const { appId, key } = await b.newApp(`bulk-r${rep}`);
    const durations: number[] = [];
    const refused: string[] = [];
    let acceptedAt = 0;
    const countersBefore = await pgCounters(b.db.pool, b.schema);
    const startedAt = Date.now();
    const { result: finished, cpu } = await withCpu(b.db.pool, { api: d.api.pid, worker: d.worker.pid }, async () => {
      const sent = await postBulk(d, key, o.bulkNotifications, `b${rep}`);
      durations.push(...sent.durations);
      refused.push(...sent.refused);
      acceptedAt = Date.now();
      return waitUntilFinished(b, appId, 600_000, () => d.assertAlive());
    });
    if (finished === null) throw new Error('bulk deliveries unfinished after 10 minutes');
    const delivery = await deliveryStats(b, appId);
    const activity = pgActivity(countersBefore, await pgCounters(b.db.pool, b.schema), delivery.notifications);
    durations.sort((x, y) => x - y);
    const r: BulkRep = {
      notifications: delivery.notifications,
      deliveriesPerSecond: delivery.lastDeliveredMs === null ? 0 : delivery.delivered / ((delivery.lastDeliveredMs - startedAt) / 1000),
      acceptedPerSecond: delivery.notifications / ((acceptedAt - startedAt) / 1000),
      requestMsP50: durations[Math.floor(durations.length / 2)] ?? 0,
      refused,
      delivery,
      cpu,
      pgActivity: activity,
    };
    progress(
      `bulk rep ${rep}: ${r.notifications} notifications, ${round(r.deliveriesPerSecond, 0)} deliveries/s end to end, ` +
        `${round(r.acceptedPerSecond, 0)} accepted/s, ${round(r.requestMsP50, 0)} ms per request (p50)` +
        (refused.length ? `, ${refused.length} refused: ${refused[0]}` : '') +
        ` | ${formatCpu(cpu)} | ${formatActivity(activity)}`,
    );
    return r;
  });
}
