import type { Channel, Priority } from '../platform/channels.js';
import type { Redis } from '../platform/redis.js';

/**
 * Delivery metrics from every worker process, summed in Redis so the API's one
 * /metrics endpoint shows the whole cluster. Each worker counts in memory and
 * adds its counts to Redis hashes once a second (one pipelined round trip),
 * so counting costs nothing per delivery.
 */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

// One hash tag for the four hashes: a flush is one pipeline, which Redis Cluster runs on one node.
const key = (prefix: string, name: string) => `${prefix}:{metrics}:${name}`;

export type FinishedAs = 'delivered' | 'failed' | 'skipped';
export type AttemptResult = 'delivered' | 'retryable_error' | 'permanent_error';

export class DeliveryMetrics {
  private deliveries = new Map<string, number>();
  private attempts = new Map<string, number>();
  private latency = new Map<string, number>();
  private breakers = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private static add(map: Map<string, number>, field: string, by = 1): void {
    map.set(field, (map.get(field) ?? 0) + by);
  }

  delivery(channel: Channel, provider: string, outcome: FinishedAs): void {
    DeliveryMetrics.add(this.deliveries, `${channel}|${provider}|${outcome}`);
  }

  attempt(channel: Channel, provider: string, outcome: AttemptResult): void {
    DeliveryMetrics.add(this.attempts, `${channel}|${provider}|${outcome}`);
  }

  /** Seconds from the notification's acceptance to its delivery on this channel. */
  acceptToDelivered(channel: Channel, priority: Priority, seconds: number): void {
    const labels = `${channel}|${priority}`;
    for (const le of LATENCY_BUCKETS) if (seconds <= le) DeliveryMetrics.add(this.latency, `${labels}|${le}`);
    DeliveryMetrics.add(this.latency, `${labels}|+Inf`);
    DeliveryMetrics.add(this.latency, `${labels}|sum`, seconds);
  }

  /** A provider's circuit breaker state, as this worker sees it. */
  breaker(channel: Channel, provider: string, state: string): void {
    this.breakers.set(`${channel}|${provider}`, `${state}|${Date.now()}`);
  }

  /** Adds what was counted since the last flush to Redis. */
  async flush(): Promise<void> {
    const [deliveries, attempts, latency, breakers] = [this.deliveries, this.attempts, this.latency, this.breakers];
    if (deliveries.size + attempts.size + latency.size + breakers.size === 0) return;
    this.deliveries = new Map();
    this.attempts = new Map();
    this.latency = new Map();
    this.breakers = new Map();
    const pipeline = this.redis.pipeline();
    for (const [f, n] of deliveries) pipeline.hincrby(key(this.prefix, 'deliveries'), f, n);
    for (const [f, n] of attempts) pipeline.hincrby(key(this.prefix, 'attempts'), f, n);
    for (const [f, n] of latency) pipeline.hincrbyfloat(key(this.prefix, 'latency'), f, n);
    for (const [f, v] of breakers) pipeline.hset(key(this.prefix, 'breakers'), f, v);
    const results = await pipeline.exec();
    if (results?.some(([err]) => err)) {
      // Redis refused: put the counts back for the next flush rather than lose them.
      for (const [f, n] of deliveries) DeliveryMetrics.add(this.deliveries, f, n);
      for (const [f, n] of attempts) DeliveryMetrics.add(this.attempts, f, n);
      for (const [f, n] of latency) DeliveryMetrics.add(this.latency, f, n);
    }
  }
}

/**
 * Counts one provider receipt (a Twilio status callback) in Redis at once:
 * receipts come to the API, one HTTP request each, so there is no batch to
 * fold them into; one HINCRBY keeps every replica's counts in one series.
 */
export async function countReceipt(redis: Redis, prefix: string, r: { channel: Channel; provider: string; status: string }): Promise<void> {
  await redis.hincrby(key(prefix, 'receipts'), `${r.channel}|${r.provider}|${r.status}`, 1);
}

/** A breaker state as a gauge value: 1 open, 0.5 half-open, 0 closed. */
export function breakerOpenness(state: string | undefined): number {
  return state === 'open' ? 1 : state === 'half_open' ? 0.5 : 0;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (pairs: [string, string][]) => `{${pairs.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

/** The cluster-wide delivery metrics, in Prometheus text format, from what the workers flushed to Redis. */
export async function renderDeliveryMetrics(redis: Redis, prefix: string): Promise<string> {
  const [deliveries, attempts, latency, breakers, receipts] = await Promise.all(
    ['deliveries', 'attempts', 'latency', 'breakers', 'receipts'].map((name) => redis.hgetall(key(prefix, name))),
  );
  const out: string[] = [];
  const counter = (name: string, help: string, hash: Record<string, string>, names: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [field, value] of Object.entries(hash)) {
      const values = field.split('|');
      out.push(`${name}${labels(names.map((n, i) => [n, values[i] ?? '']))} ${value}`);
    }
  };
  counter('notify_deliveries_total', 'Deliveries finished, by channel, provider and outcome.', deliveries!, ['channel', 'provider', 'outcome']);
  counter('notify_delivery_attempts_total', 'Provider calls, by channel, provider and outcome.', attempts!, ['channel', 'provider', 'outcome']);
  counter('notify_provider_receipts_total', "Providers' receipts (status callbacks) received, by channel, provider and status.", receipts!, ['channel', 'provider', 'status']);

  const name = 'notify_accept_to_delivered_seconds';
  out.push(`# HELP ${name} Time from accepting a notification to delivering it, by channel and priority.`, `# TYPE ${name} histogram`);
  const series = new Map<string, Map<string, string>>();
  for (const [field, value] of Object.entries(latency!)) {
    const [channel, priority, le] = field.split('|');
    const id = `${channel}|${priority}`;
    if (!series.has(id)) series.set(id, new Map());
    series.get(id)!.set(le!, value);
  }
  for (const [id, values] of series) {
    const [channel, priority] = id.split('|') as [string, string];
    for (const le of [...LATENCY_BUCKETS.map(String), '+Inf']) {
      out.push(
        `${name}_bucket${labels([
          ['channel', channel],
          ['priority', priority],
          ['le', le],
        ])} ${values.get(le) ?? 0}`,
      );
    }
    out.push(
      `${name}_sum${labels([
        ['channel', channel],
        ['priority', priority],
      ])} ${values.get('sum') ?? 0}`,
    );
    out.push(
      `${name}_count${labels([
        ['channel', channel],
        ['priority', priority],
      ])} ${values.get('+Inf') ?? 0}`,
    );
  }

  const gauge = 'notify_provider_breaker_open';
  out.push(`# HELP ${gauge} 1 when a worker last reported this provider's circuit breaker open (0.5 half-open, 0 closed).`, `# TYPE ${gauge} gauge`);
  for (const [field, value] of Object.entries(breakers!)) {
    const [channel, provider] = field.split('|') as [string, string];
    out.push(
      `${gauge}${labels([
        ['channel', channel],
        ['provider', provider],
      ])} ${breakerOpenness(value.split('|')[0])}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** Breaker states as last reported by the workers: for the dashboard. */
export async function breakerStates(redis: Redis, prefix: string): Promise<{ channel: string; provider: string; state: string; reported_at: string }[]> {
  const hash = await redis.hgetall(key(prefix, 'breakers'));
  return Object.entries(hash).map(([field, value]) => {
    const [channel, provider] = field.split('|') as [string, string];
    const [state, at] = value.split('|') as [string, string];
    return { channel, provider, state, reported_at: new Date(Number(at)).toISOString() };
  });
}
