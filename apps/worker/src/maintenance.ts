import type { ChannelQueues, FanoutJob, StatusEventJob, Logger, Pool, Redis, RetryPolicy } from '@notify/core/platform';
import { deleteExpiredIdempotencyKeys, sweepOutbox } from '@notify/core/outbox';
import { pruneDeliveryStats } from '@notify/core/observability';
import type { Queue } from 'bullmq';

export interface MaintenanceDeps {
  pool: Pool;
  redis: Redis;
  queues: ChannelQueues;
  fanout: Queue<FanoutJob>;
  events: Queue<StatusEventJob>;
  retry: RetryPolicy;
  log: Logger;
  intervalMs: number;
  graceMs: number;
}

/**
 * Every worker process runs this loop; the sweep's advisory lock lets one
 * replica work at a time. Returns a function that stops the loop and waits for
 * a run in progress.
 */
export function startMaintenance(deps: MaintenanceDeps): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const runOnce = async () => {
    try {
      const swept = await sweepOutbox(deps, { graceMs: deps.graceMs });
      // Only the replica that swept does the housekeeping too.
      if (swept) {
        await deleteExpiredIdempotencyKeys(deps.pool);
        await pruneDeliveryStats(deps.pool);
      }
    } catch (err) {
      deps.log.warn({ err }, 'maintenance run failed; will try again');
    }
  };
  const schedule = () => {
    // Jitter spreads replicas started together.
    const timer = setTimeout(
      () => {
        if (stopped) return;
        running = runOnce().finally(() => {
          running = null;
          if (!stopped) schedule();
        });
      },
      deps.intervalMs * (0.8 + Math.random() * 0.4),
    );
    timer.unref();
  };
  schedule();
  return async () => {
    stopped = true;
    await running;
  };
}
