import type { ProviderChain } from '@notify/core/channels';
import { breakerOpenness, dependencyFailures, type AttemptResult, type JobOutcome, type ProcessMetrics } from '@notify/core/observability';
import type { Channel, Pool, Redis } from '@notify/core/platform';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const JOB_OUTCOMES: readonly JobOutcome[] = ['delivered', 'failed', 'retried', 'skipped'];

/**
 * This worker process's Prometheus metrics (its /metrics): Node's process
 * metrics, delivery jobs by channel and outcome, provider answer times, and
 * each provider's breaker as this process sees it, stalled jobs it found, and
 * whether PostgreSQL and Redis answer (read at scrape time, which needs
 * neither, so the alert sees them down rather than a failed scrape). Per process, unlike the
 * cluster-wide sums the API's /metrics reads from Redis, so every name has
 * its own `notify_worker_` prefix and summing both never counts a job twice.
 */
export class WorkerMetrics implements ProcessMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'channel' | 'outcome'>;
  private readonly provider: Histogram<'channel' | 'provider' | 'outcome'>;
  private readonly stalls: Counter<'channel'>;

  constructor(chains: readonly ProviderChain[], dependencies: { pool: Pick<Pool, 'query'>; redis: Redis }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'notify_worker_' });
    this.jobs = new Counter({
      name: 'notify_worker_jobs_total',
      help: 'Delivery jobs this process ended, by channel and outcome (delivered, failed, skipped; retried: sent back for another attempt).',
      labelNames: ['channel', 'outcome'],
      registers: [this.registry],
    });
    // Every series from the start, so rate() sees the first job rather than a series appearing.
    for (const chain of chains) for (const outcome of JOB_OUTCOMES) this.jobs.inc({ channel: chain.channel, outcome }, 0);
    this.stalls = new Counter({
      name: 'notify_worker_jobs_stalled_total',
      help: 'Delivery jobs this process found stalled (their worker stopped renewing the lock), by channel; they run again or fail.',
      labelNames: ['channel'],
      registers: [this.registry],
    });
    for (const chain of chains) this.stalls.inc({ channel: chain.channel }, 0);
    new Gauge({
      name: 'notify_worker_dependency_up',
      help: 'Whether PostgreSQL and Redis answered this process within a second (1) or not (0), checked at scrape time.',
      labelNames: ['dependency'],
      registers: [this.registry],
      async collect() {
        const failed = new Set((await dependencyFailures(dependencies)).map((f) => f.path));
        for (const dependency of ['postgres', 'redis']) this.set({ dependency }, failed.has(dependency) ? 0 : 1);
      },
    });
    this.provider = new Histogram({
      name: 'notify_worker_provider_seconds',
      help: 'Time a provider took to answer one message, by channel, provider and outcome (delivered, retryable_error, permanent_error).',
      labelNames: ['channel', 'provider', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    new Gauge({
      name: 'notify_worker_provider_breaker_open',
      help: "Each provider's circuit breaker in this process: 1 open, 0.5 half-open, 0 closed.",
      labelNames: ['channel', 'provider'],
      registers: [this.registry],
      collect() {
        for (const chain of chains) for (const [provider, state] of Object.entries(chain.states())) this.set({ channel: chain.channel, provider }, breakerOpenness(state));
      },
    });
  }

  job(channel: Channel, outcome: JobOutcome): void {
    this.jobs.inc({ channel, outcome });
  }

  /** A job of this channel found stalled by this process's BullMQ worker. */
  stalled(channel: Channel): void {
    this.stalls.inc({ channel });
  }

  providerCall(channel: Channel, provider: string, outcome: AttemptResult, seconds: number): void {
    this.provider.observe({ channel, provider, outcome }, seconds);
  }
}
