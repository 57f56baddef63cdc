import type pg from 'pg';
import type { Channel, Priority } from '../platform/channels.js';
import { DeliveryStats } from './delivery-stats.js';
import type { AttemptResult, DeliveryMetrics } from './metrics.js';
import type { PlannedNotification } from '../notifications/plan.js';

/** How a delivery job ended in a worker: finished (delivered, failed, skipped) or sent back for a retry. */
export type JobOutcome = 'delivered' | 'failed' | 'retried' | 'skipped';

/** A worker process's own counters, served on its /metrics beside the cluster-wide sums the API serves. */
export interface ProcessMetrics {
  job(channel: Channel, outcome: JobOutcome): void;
  /** One message's provider call: which provider answered, how, and how long it took. */
  providerCall(channel: Channel, provider: string, outcome: AttemptResult, seconds: number): void;
}

/**
 * Where delivery outcomes are counted: Prometheus metrics (summed in Redis)
 * and the dashboard's per-minute stats (in PostgreSQL). One call per outcome,
 * flushed in the background once a second; nothing is written per delivery.
 */
export class Telemetry {
  readonly stats = new DeliveryStats();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    readonly metrics: DeliveryMetrics | null = null,
    private readonly local: ProcessMetrics | null = null,
  ) {}

  /** New notifications: every delivery accepted; those skipped at once also counted as skipped. */
  accepted(planned: PlannedNotification[]): void {
    for (const n of planned) {
      for (const d of n.deliveries) {
        this.stats.record({ appId: n.appId, channel: d.channel, priority: n.priority, outcome: 'accepted', at: n.createdAt });
        if (d.status === 'skipped') {
          this.stats.record({ appId: n.appId, channel: d.channel, priority: n.priority, outcome: 'skipped', errorCode: d.reason ?? '', at: n.createdAt });
        }
      }
    }
  }

  delivered(e: { appId: string; channel: Channel; priority: Priority; provider: string; acceptedAt: Date }): void {
    const seconds = (Date.now() - e.acceptedAt.getTime()) / 1000;
    this.local?.job(e.channel, 'delivered');
    this.metrics?.attempt(e.channel, e.provider, 'delivered');
    this.metrics?.delivery(e.channel, e.provider, 'delivered');
    this.metrics?.acceptToDelivered(e.channel, e.priority, seconds);
    this.stats.record({ appId: e.appId, channel: e.channel, priority: e.priority, outcome: 'delivered', provider: e.provider, latencySeconds: seconds });
  }

  failed(e: { appId: string; channel: Channel; priority: Priority; provider: string; errorCode: string; retryable: boolean }): void {
    this.local?.job(e.channel, 'failed');
    this.metrics?.attempt(e.channel, e.provider, e.retryable ? 'retryable_error' : 'permanent_error');
    this.metrics?.delivery(e.channel, e.provider, 'failed');
    this.stats.record({ appId: e.appId, channel: e.channel, priority: e.priority, outcome: 'failed', provider: e.provider, errorCode: e.errorCode });
  }

  retried(e: { channel: Channel; provider: string }): void {
    this.local?.job(e.channel, 'retried');
    this.metrics?.attempt(e.channel, e.provider, 'retryable_error');
  }

  skipped(e: { appId: string; channel: Channel; priority: Priority; reason: string }): void {
    this.local?.job(e.channel, 'skipped');
    this.metrics?.delivery(e.channel, 'none', 'skipped');
    this.stats.record({ appId: e.appId, channel: e.channel, priority: e.priority, outcome: 'skipped', errorCode: e.reason });
  }

  providerCall(channel: Channel, provider: string, outcome: AttemptResult, seconds: number): void {
    this.local?.providerCall(channel, provider, outcome, seconds);
  }

  async flush(): Promise<void> {
    await Promise.all([this.metrics?.flush(), this.stats.flush(this.pool)]);
  }

  /** Flushes every interval; `beforeFlush` can record gauges (breaker states) first. */
  start(intervalMs = 1000, beforeFlush: () => void = () => {}): void {
    this.timer = setInterval(() => {
      beforeFlush();
      void this.flush().catch(() => {});
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch(() => {});
  }
}
