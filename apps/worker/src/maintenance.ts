import type { ChannelQueues, FanoutJob, StatusEventJob, Logger, Pool, Redis, RetentionSettings, RetryPolicy, ScheduleJob, WorkflowStepJob } from '@notify/core/platform';
import { deleteExpiredIdempotencyKeys, sweepOutbox } from '@notify/core/outbox';
import { pruneDeliveryStats } from '@notify/core/observability';
import { recordRetentionRun, runRetention } from '@notify/core/retention';
import { reconcileSchedulers } from '@notify/core/schedules';
import type { Queue } from 'bullmq';

export interface MaintenanceDeps {
  pool: Pool;
  redis: Redis;
  /** QUEUE_PREFIX: where the last retention run is recorded. */
  prefix: string;
  queues: ChannelQueues;
  fanout: Queue<FanoutJob>;
  events: Queue<StatusEventJob>;
  /** Workflow step jobs (running runs whose step is overdue get theirs again); absent: not swept. */
  workflows?: Queue<WorkflowStepJob>;
  /** Recurring schedules (their job schedulers made to agree with the rows); absent: not reconciled. */
  schedules?: Queue<ScheduleJob>;
  retry: RetryPolicy;
  log: Logger;
  intervalMs: number;
  graceMs: number;
  /** Deleting old records (retention/); absent: never. */
  retention?: RetentionSettings;
}

/**
 * Every worker process runs this loop; the sweep's advisory lock lets one
 * replica work at a time. Returns a function that stops the loop and waits for
 * a run in progress.
 */
export function startMaintenance(deps: MaintenanceDeps): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const stopping = new AbortController();
  // Due at the first run; a run cut short by its budget makes the next one due at once.
  let retentionDue = 0;
  const runOnce = async () => {
    try {
      const swept = await sweepOutbox(deps, { graceMs: deps.graceMs });
      // Only the replica that swept does the housekeeping too.
      if (swept) {
        await deleteExpiredIdempotencyKeys(deps.pool);
        await pruneDeliveryStats(deps.pool);
        if (deps.schedules) await reconcileSchedulers(deps.pool, deps.schedules);
        const retention = deps.retention;
        if (retention && Date.now() >= retentionDue) {
          // Its own lock: a run may outlast this sweep, and another replica may sweep next.
          const started = performance.now();
          const removed = await runRetention(deps, { ...retention, signal: stopping.signal });
          if (removed) await recordRetentionRun(deps.redis, deps.prefix, retention.days, removed, performance.now() - started);
          retentionDue = removed?.more ? 0 : Date.now() + retention.intervalMs;
        }
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
    stopping.abort();
    await running;
  };
}
