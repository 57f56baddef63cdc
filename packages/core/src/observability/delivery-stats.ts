import type pg from 'pg';
import type { Channel, Priority } from '../platform/channels.js';

/** Upper bounds (seconds) of the dashboard's latency histogram; one more slot counts anything slower. */
export const DASHBOARD_LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export type StatOutcome = 'accepted' | 'delivered' | 'failed' | 'skipped';

export interface StatEvent {
  appId: string;
  channel: Channel;
  priority: Priority;
  outcome: StatOutcome;
  provider?: string | undefined;
  errorCode?: string | undefined;
  /** Accept-to-delivered, for delivered ones. */
  latencySeconds?: number | undefined;
  at?: Date;
}

/** Bucket sizes kept, in minutes: the dashboard's hour view reads 1-minute buckets, its day view 15-minute ones. */
export const STAT_SPANS = [1, 15] as const;

interface Row {
  appId: string;
  span: number;
  bucket: Date;
  channel: Channel;
  priority: Priority;
  outcome: StatOutcome;
  provider: string;
  errorCode: string;
  count: number;
  latency: number[];
}

/**
 * Per-minute delivery counts for the dashboard, kept in PostgreSQL
 * (delivery_stats). Each process counts in memory and adds its counts with one
 * upsert a second, so the hot path gains no write per delivery and the
 * dashboard's queries read minutes, not millions of deliveries.
 */
export class DeliveryStats {
  private rows = new Map<string, Row>();

  record(e: StatEvent): void {
    const at = (e.at ?? new Date()).getTime();
    const provider = e.provider ?? '';
    const errorCode = e.errorCode ?? '';
    const slot = e.latencySeconds === undefined ? -1 : DASHBOARD_LATENCY_BUCKETS.findIndex((le) => e.latencySeconds! <= le);
    for (const span of STAT_SPANS) {
      const bucket = new Date(Math.floor(at / (span * 60_000)) * span * 60_000);
      const row = this.row({ appId: e.appId, span, bucket, channel: e.channel, priority: e.priority, outcome: e.outcome, provider, errorCode, count: 0, latency: [] });
      row.count++;
      if (e.latencySeconds !== undefined) {
        if (row.latency.length === 0) row.latency = new Array<number>(DASHBOARD_LATENCY_BUCKETS.length + 1).fill(0);
        row.latency[slot === -1 ? DASHBOARD_LATENCY_BUCKETS.length : slot]!++;
      }
    }
  }

  /** The row counting this key, made from `fresh` when there is none yet. */
  private row(fresh: Row): Row {
    const key = `${fresh.appId}|${fresh.span}|${fresh.bucket.getTime()}|${fresh.channel}|${fresh.priority}|${fresh.outcome}|${fresh.provider}|${fresh.errorCode}`;
    const existing = this.rows.get(key);
    if (existing) return existing;
    this.rows.set(key, fresh);
    return fresh;
  }

  /** Adds what was counted since the last flush; on failure keeps it for the next. */
  async flush(pool: Pick<pg.Pool, 'query'>): Promise<void> {
    if (this.rows.size === 0) return;
    // Sorted by key: concurrent flushes lock rows in the same order, so they cannot deadlock.
    const rows = [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
    this.rows = new Map();
    try {
      await pool.query({
        text: `/* flush_delivery_stats */ INSERT INTO delivery_stats (app_id, span, bucket, channel, priority, outcome, provider, error_code, count, latency)
          SELECT app_id, span, bucket, channel, priority, outcome, provider, error_code, count, latency::int[]
          FROM unnest($1::text[], $10::smallint[], $2::timestamptz[], $3::channel[], $4::priority[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[])
            AS t(app_id, span, bucket, channel, priority, outcome, provider, error_code, count, latency)
          ON CONFLICT (app_id, span, bucket, channel, priority, outcome, provider, error_code) DO UPDATE SET
            count = delivery_stats.count + EXCLUDED.count,
            latency = CASE WHEN delivery_stats.latency IS NULL OR cardinality(delivery_stats.latency) = 0 THEN EXCLUDED.latency
              WHEN EXCLUDED.latency IS NULL OR cardinality(EXCLUDED.latency) = 0 THEN delivery_stats.latency
              ELSE int_array_add(delivery_stats.latency, EXCLUDED.latency) END`,
        values: [
          rows.map((r) => r.appId),
          rows.map((r) => r.bucket),
          rows.map((r) => r.channel),
          rows.map((r) => r.priority),
          rows.map((r) => r.outcome),
          rows.map((r) => r.provider),
          rows.map((r) => r.errorCode),
          rows.map((r) => r.count),
          rows.map((r) => `{${r.latency.join(',')}}`),
          rows.map((r) => r.span),
        ],
      });
    } catch (err) {
      for (const r of rows) this.merge(r);
      throw err;
    }
  }

  private merge(r: Row): void {
    const mine = this.row({ ...r, count: 0, latency: [] });
    mine.count += r.count;
    if (r.latency.length > 0) mine.latency = mine.latency.length === 0 ? r.latency : mine.latency.map((n, i) => n + (r.latency[i] ?? 0));
  }
}

/** Percentile (0..1) from a histogram over DASHBOARD_LATENCY_BUCKETS, interpolated within its bucket; null when empty. */
export function histogramPercentile(counts: number[], p: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = p * total;
  let seen = 0;
  for (const [i, n] of counts.entries()) {
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : DASHBOARD_LATENCY_BUCKETS[i - 1]!;
      const upper = DASHBOARD_LATENCY_BUCKETS[i] ?? lower;
      return lower + ((rank - seen) / n) * (upper - lower);
    }
    seen += n;
  }
  return DASHBOARD_LATENCY_BUCKETS.at(-1)!;
}

/** Drops buckets past what the dashboard shows: 1-minute ones after 2 days, 15-minute ones after 31. */
export async function pruneDeliveryStats(pool: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM delivery_stats WHERE (span = 1 AND bucket < now() - interval '2 days') OR (span = 15 AND bucket < now() - interval '31 days')`,
  );
  return rowCount ?? 0;
}
