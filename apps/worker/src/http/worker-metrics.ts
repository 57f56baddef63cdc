import type { ProviderChain } from '@notify/core/channels';
import { breakerOpenness, type AttemptResult, type JobOutcome, type ProcessMetrics } from '@notify/core/observability';
import type { Channel } from '@notify/core/platform';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const JOB_OUTCOMES: readonly JobOutcome[] = ['delivered', 'failed', 'retried', 'skipped'];

/**
 * This worker process's Prometheus metrics (its /metrics): Node's process
 * metrics, delivery jobs by channel and outcome, provider answer times, and
 * each provider's breaker as this process sees it. Per process, unlike the
 * cluster-wide sums the API's /metrics reads from Redis, so every name has
 * its own `notify_worker_` prefix and summing both never counts a job twice.
 */
export class WorkerMetrics implements ProcessMetrics {
  readonly registry = new Registry();
  private readonly jobs: Counter<'channel' | 'outcome'>;
  private readonly provider: Histogram<'channel' | 'provider' | 'outcome'>;

  constructor(chains: readonly ProviderChain[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'notify_worker_' });
    this.jobs = new Counter({
      name: 'notify_worker_jobs_total',
      help: 'Delivery jobs this process ended, by channel and outcome (delivered, failed, skipped; retried: sent back for another attempt).',
      labelNames: ['channel', 'outcome'],
      registers: [this.registry],
    });
    // Every series from the start, so rate() sees the first job rather than a series appearing.
    for (const chain of chains) for (const outcome of JOB_OUTCOMES) this.jobs.inc({ channel: chain.channel, outcome }, 0);
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

  providerCall(channel: Channel, provider: string, outcome: AttemptResult, seconds: number): void {
    this.provider.observe({ channel, provider, outcome }, seconds);
  }
}
