import type { Deployment } from './service-processes.js';
import { round } from './stats.js';

/**
 * The API's own view of a run, from GET /metrics (Prometheus text): its
 * request duration histogram for POST /notifications (server side: from the
 * first middleware to the response, without the client's or the kernel's
 * queueing) and its event-loop delay. Next to the client's latency this says
 * whether time went inside the API or waiting to get into it.
 */
export interface ApiMetrics {
  /** Cumulative count per bucket upper bound (seconds), POST /notifications answered 2xx. */
  buckets: Map<number, number>;
  /** nodejs_eventloop_lag_p99_seconds: prom-client resets it at every scrape, so it covers the time since the last one. */
  eventLoopLagP99Ms: number | null;
}

export interface ApiServerLatency {
  /** Estimated from the histogram buckets (linear within a bucket): coarse, but independent of the client. */
  p50Ms: number | null;
  p99Ms: number | null;
  eventLoopLagP99Ms: number | null;
}

const LINE = /^(\w+)\{([^}]*)\}\s+(\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

export async function scrapeApiMetrics(d: Deployment): Promise<ApiMetrics | null> {
  try {
    const res = await fetch(`${d.url}/metrics`, { headers: { authorization: d.adminAuthorization } });
    if (!res.ok) return null;
    const buckets = new Map<number, number>();
    let lag: number | null = null;
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith('notify_api_nodejs_eventloop_lag_p99_seconds ') || line.startsWith('nodejs_eventloop_lag_p99_seconds ')) {
        lag = Number(line.split(' ')[1]) * 1000;
        continue;
      }
      const m = LINE.exec(line);
      if (m?.[1] !== 'http_request_duration_seconds_bucket') continue;
      const labels = Object.fromEntries([...m[2]!.matchAll(LABEL)].map((l) => [l[1]!, l[2]!]));
      if (labels.method !== 'POST' || !/^\/notifications\/?$/.test(labels.route ?? '') || !labels.status?.startsWith('2')) continue;
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[3]));
    }
    return { buckets, eventLoopLagP99Ms: lag };
  } catch {
    return null;
  }
}

export function serverLatency(before: ApiMetrics | null, after: ApiMetrics | null): ApiServerLatency | null {
  if (!before || !after) return null;
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const quantile = (q: number): number | null => {
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (counts[i]! >= rank) {
        const hi = bounds[i]!;
        if (hi === Infinity) return bounds[i - 1] === undefined ? null : bounds[i - 1]! * 1000;
        const lo = i === 0 ? 0 : bounds[i - 1]!;
        const below = i === 0 ? 0 : counts[i - 1]!;
        const inside = counts[i]! - below;
        return (lo + (hi - lo) * (inside > 0 ? (rank - below) / inside : 1)) * 1000;
      }
    }
    return null;
  };
  return { p50Ms: quantile(0.5), p99Ms: quantile(0.99), eventLoopLagP99Ms: after.eventLoopLagP99Ms };
}

export function formatServerLatency(s: ApiServerLatency | null): string {
  if (!s) return 'api /metrics: -';
  const f = (v: number | null) => (v === null ? '-' : String(round(v, 1)));
  return `api server-side p50 ~${f(s.p50Ms)} p99 ~${f(s.p99Ms)} ms, event-loop lag p99 ${f(s.eventLoopLagP99Ms)} ms`;
}
