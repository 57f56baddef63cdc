import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './bench-env.js';

/**
 * Accept-to-delivered of one app's notifications, from PostgreSQL after the
 * run: deliveries.delivered_at - notifications.created_at, per delivery.
 *
 * created_at is stamped by the API process when it plans the notification
 * (after validation, before the insert and the enqueue), delivered_at by
 * PostgreSQL's now() in the statement that records the provider's success.
 * Both clocks are this machine's, so the difference is exact to the
 * columns' millisecond precision. It starts slightly before the client sees
 * its 202, so it errs on the long side, and it is the same interval the
 * worker reports as notify_accept_to_delivered_seconds. Every notification
 * counts, not a sample, and the client needs no per-request bookkeeping.
 */
export interface DeliveryStats {
  notifications: number;
  deliveries: number;
  delivered: number;
  failed: number;
  unfinished: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Epoch ms of the first notification's created_at and the last delivered_at. */
  firstCreatedMs: number | null;
  lastDeliveredMs: number | null;
}

export async function deliveryStats(b: BenchEnv, appId: string): Promise<DeliveryStats> {
  const { rows } = await b.db.pool.query<{
    notifications: number;
    deliveries: number;
    delivered: number;
    failed: number;
    unfinished: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
    first_created: number | null;
    last_delivered: number | null;
  }>(
    `WITH d AS (
       SELECT n.created_at, d.status, d.delivered_at, extract(epoch FROM d.delivered_at - n.created_at) * 1000 AS ms
       FROM notifications n JOIN deliveries d ON d.notification_id = n.id
       WHERE n.app_id = $1)
     SELECT (SELECT count(*)::int FROM notifications WHERE app_id = $1) AS notifications,
       count(*)::int AS deliveries,
       count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status IN ('queued', 'sending', 'retrying'))::int AS unfinished,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::float8 AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::float8 AS p99,
       max(ms)::float8 AS max,
       (extract(epoch FROM min(created_at)) * 1000)::float8 AS first_created,
       (extract(epoch FROM max(delivered_at)) * 1000)::float8 AS last_delivered
     FROM d`,
    [appId],
  );
  const r = rows[0]!;
  return {
    notifications: r.notifications,
    deliveries: r.deliveries,
    delivered: r.delivered,
    failed: r.failed,
    unfinished: r.unfinished,
    p50Ms: r.p50,
    p99Ms: r.p99,
    maxMs: r.max,
    firstCreatedMs: r.first_created,
    lastDeliveredMs: r.last_delivered,
  };
}

/** Deliveries of the app not finished yet (queued, being sent, or waiting to retry): an indexed count. */
export async function unfinishedDeliveries(b: BenchEnv, appId: string): Promise<number> {
  const { rows } = await b.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE app_id = $1 AND status IN ('queued', 'sending', 'retrying')`, [appId]);
  return rows[0]!.n;
}

/**
 * Polls until every delivery of the app is finished; returns the time it
 * took in ms, or null after `timeoutMs`. `check` runs each round (e.g. to
 * fail fast when a service process died).
 */
export async function waitUntilFinished(b: BenchEnv, appId: string, timeoutMs: number, check: () => void = () => {}): Promise<number | null> {
  const started = performance.now();
  for (;;) {
    check();
    if ((await unfinishedDeliveries(b, appId)) === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) return null;
    await sleep(100);
  }
}

/**
 * Deliveries per second of the app while its backlog was being worked off:
 * the middle 80 % of its deliveries (10th to 90th percentile of
 * delivered_at), which leaves out the start (workers warming up, requests
 * still arriving) and the tail (the last jobs, fewer than the workers could
 * take at once). Null with fewer than 100 deliveries.
 */
export async function steadyDeliveryRate(b: BenchEnv, appId: string): Promise<number | null> {
  const { rows } = await b.db.pool.query<{ n: number; p10: number | null; p90: number | null }>(
    `SELECT count(*)::int AS n,
       percentile_cont(0.1) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at))::float8 AS p10,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at))::float8 AS p90
     FROM deliveries WHERE app_id = $1 AND status = 'delivered'`,
    [appId],
  );
  const r = rows[0]!;
  if (r.n < 100 || r.p10 === null || r.p90 === null || r.p90 <= r.p10) return null;
  return (0.8 * r.n) / (r.p90 - r.p10);
}
