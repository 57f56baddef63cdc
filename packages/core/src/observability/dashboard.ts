import { CHANNELS, PRIORITIES, type Channel } from '../platform/channels.js';
import type { Db } from '../platform/db.js';
import { histogramPercentile } from './delivery-stats.js';
import { isUuid } from '../platform/ids.js';

/**
 * The operator dashboard's questions, answered from PostgreSQL: counts and
 * latency from the per-minute delivery_stats (a window reads minutes, not
 * deliveries), lists and timelines from indexed lookups.
 */
export type DashboardWindow = '1h' | '24h';

/**
 * The dashboard's SQL, by name: `npm run dashboard:explain` runs each under
 * EXPLAIN ANALYZE. Parameters: $1 app, $2 bucket span (minutes: 1 for the
 * hour view, 15 for the day view), $3 window (minutes).
 */
const WINDOW = 'app_id = $1 AND span = $2 AND bucket >= now() - make_interval(mins => $3)';
export const DASHBOARD_SQL = {
  totals: `SELECT channel, outcome, sum(count)::int AS n FROM delivery_stats WHERE ${WINDOW} GROUP BY channel, outcome`,
  series: `SELECT bucket AS at, channel,
      sum(count) FILTER (WHERE outcome = 'delivered')::int AS delivered, sum(count) FILTER (WHERE outcome = 'failed')::int AS failed
    FROM delivery_stats WHERE ${WINDOW} AND outcome IN ('delivered', 'failed')
    GROUP BY 1, 2 ORDER BY 1`,
  latency: `SELECT channel, priority::text, latency FROM delivery_stats WHERE ${WINDOW} AND outcome = 'delivered'`,
  failures: `SELECT channel, provider, error_code, sum(count)::int AS count FROM delivery_stats
    WHERE ${WINDOW} AND outcome = 'failed' GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 50`,
  /** $2 channel, $3 provider, $4 error code (each may be null), $5 limit. */
  failed: `SELECT d.id, d.notification_id, n.user_id, d.channel, d.provider, d.last_error_code, d.last_error_message, d.attempts, d.failed_at
    FROM deliveries d JOIN notifications n ON n.id = d.notification_id
    WHERE d.app_id = $1 AND d.status = 'failed'
      AND ($2::channel IS NULL OR d.channel = $2) AND ($3::text IS NULL OR d.provider = $3) AND ($4::text IS NULL OR d.last_error_code = $4)
    ORDER BY d.id DESC LIMIT $5`,
} as const;
const WINDOW_MINUTES: Record<DashboardWindow, number> = { '1h': 60, '24h': 1440 };
/** Points on the chart, and the delivery_stats span read: a minute each over an hour, 15 minutes each over a day. */
const STEP_MINUTES: Record<DashboardWindow, number> = { '1h': 1, '24h': 15 };

export interface Overview {
  window: DashboardWindow;
  channels: Record<Channel, { accepted: number; delivered: number; failed: number; skipped: number }>;
  series: { step_minutes: number; points: { at: string; channel: Channel; delivered: number; failed: number }[] };
  latency: { channel: Channel; priority: string; delivered: number; p50: number | null; p95: number | null; p99: number | null }[];
  failures: { channel: Channel; provider: string; error_code: string; count: number }[];
}

export async function dashboardOverview(db: Db, appId: string, window: DashboardWindow): Promise<Overview> {
  const minutes = WINDOW_MINUTES[window];
  const step = STEP_MINUTES[window];
  const params = [appId, step, minutes];
  const [totals, series, latency, failures] = await Promise.all([
    db.pool.query<{ channel: Channel; outcome: string; n: number }>(DASHBOARD_SQL.totals, params),
    db.pool.query<{ at: Date; channel: Channel; delivered: number; failed: number }>(DASHBOARD_SQL.series, params),
    db.pool.query<{ channel: Channel; priority: string; latency: number[] | null }>(DASHBOARD_SQL.latency, params),
    db.pool.query<{ channel: Channel; provider: string; error_code: string; count: number }>(DASHBOARD_SQL.failures, params),
  ]);
  const channels = Object.fromEntries(CHANNELS.map((c) => [c, { accepted: 0, delivered: 0, failed: 0, skipped: 0 }])) as Overview['channels'];
  for (const r of totals.rows) {
    const bucket = channels[r.channel] as Record<string, number>;
    if (r.outcome in bucket) bucket[r.outcome] = r.n;
  }
  const order = (p: string) => PRIORITIES.indexOf(p as (typeof PRIORITIES)[number]);
  return {
    window,
    channels,
    series: {
      step_minutes: step,
      points: series.rows.map((r) => ({ at: r.at.toISOString(), channel: r.channel, delivered: r.delivered ?? 0, failed: r.failed ?? 0 })),
    },
    latency: [...sumHistograms(latency.rows)]
      .map(([key, counts]) => {
        const [channel, priority] = key.split('|') as [Channel, string];
        return {
          channel,
          priority,
          delivered: counts.reduce((a, b) => a + b, 0),
          p50: histogramPercentile(counts, 0.5),
          p95: histogramPercentile(counts, 0.95),
          p99: histogramPercentile(counts, 0.99),
        };
      })
      .sort((a, b) => CHANNELS.indexOf(a.channel) - CHANNELS.indexOf(b.channel) || order(a.priority) - order(b.priority)),
    failures: failures.rows,
  };
}

/** The minutes' latency histograms added up per channel and priority. */
function sumHistograms(rows: { channel: Channel; priority: string; latency: number[] | null }[]): Map<string, number[]> {
  const sums = new Map<string, number[]>();
  for (const r of rows) {
    if (!r.latency?.length) continue;
    const key = `${r.channel}|${r.priority}`;
    const sum = sums.get(key) ?? new Array<number>(r.latency.length).fill(0);
    for (const [i, n] of r.latency.entries()) sum[i] = (sum[i] ?? 0) + n;
    sums.set(key, sum);
  }
  return sums;
}

/** Failed deliveries, newest first, optionally of one channel, provider or error code. */
export async function dashboardFailed(db: Db, appId: string, f: { channel?: Channel | undefined; provider?: string | undefined; errorCode?: string | undefined; limit?: number }) {
  const { rows } = await db.pool.query<{
    id: string;
    notification_id: string;
    user_id: string;
    channel: Channel;
    provider: string | null;
    last_error_code: string | null;
    last_error_message: string | null;
    attempts: number;
    failed_at: Date | null;
  }>(DASHBOARD_SQL.failed, [appId, f.channel ?? null, f.provider ?? null, f.errorCode ?? null, f.limit ?? 50]);
  return rows.map((r) => ({ ...r, failed_at: r.failed_at?.toISOString() ?? null }));
}

export interface TimelineEvent {
  at: string;
  kind: 'created' | 'scheduled' | 'attempt' | 'delivered' | 'failed' | 'skipped' | 'cancelled' | 'replayed';
  channel: Channel | null;
  delivery_id: string | null;
  provider: string | null;
  detail: string | null;
}

/**
 * A notification's full story: created, each delivery's attempts (provider,
 * outcome, error, duration), replays, and how each ended. The query is a
 * notification id, or a user id (their 20 latest notifications).
 */
export async function dashboardTimeline(db: Db, appId: string, query: string) {
  const isId = isUuid(query);
  const notifications = await db.prisma.notification.findMany({
    where: isId ? { appId, id: query.toLowerCase() } : { appId, userId: query },
    orderBy: { id: 'desc' },
    take: 20,
    include: { deliveries: { include: { attemptLog: { orderBy: { id: 'asc' } }, replays: true } } },
  });
  return notifications.map((n) => {
    const events: TimelineEvent[] = [{ at: n.createdAt.toISOString(), kind: 'created', channel: null, delivery_id: null, provider: null, detail: `priority ${n.priority}` }];
    for (const d of n.deliveries) {
      const base = { channel: d.channel, delivery_id: d.id };
      if (d.scheduledFor) events.push({ ...base, at: d.createdAt.toISOString(), kind: 'scheduled', provider: null, detail: `not before ${d.scheduledFor.toISOString()}` });
      for (const a of d.attemptLog) {
        events.push({
          ...base,
          at: a.createdAt.toISOString(),
          kind: 'attempt',
          provider: a.provider,
          detail: `attempt ${a.attempt}: ${a.outcome}${a.errorCode ? ` (${a.errorCode}${a.errorMessage ? `: ${a.errorMessage}` : ''})` : ''}, ${a.durationMs} ms`,
        });
      }
      for (const r of d.replays) {
        events.push({ ...base, at: r.createdAt.toISOString(), kind: 'replayed', provider: null, detail: r.previousErrorCode ? `after ${r.previousErrorCode}` : null });
      }
      if (d.status === 'delivered' && d.deliveredAt)
        events.push({ ...base, at: d.deliveredAt.toISOString(), kind: 'delivered', provider: d.provider, detail: d.providerMessageId });
      if (d.status === 'failed' && d.failedAt) events.push({ ...base, at: d.failedAt.toISOString(), kind: 'failed', provider: d.provider, detail: d.lastErrorCode });
      if (d.status === 'skipped' || d.status === 'cancelled') events.push({ ...base, at: d.updatedAt.toISOString(), kind: d.status, provider: null, detail: d.reason });
    }
    events.sort((a, b) => a.at.localeCompare(b.at));
    return {
      id: n.id,
      user_id: n.userId,
      status: n.status,
      deliveries: n.deliveries.map((d) => ({ id: d.id, channel: d.channel, status: d.status, attempts: d.attempts })),
      events,
    };
  });
}
