import { GroupCommit, isConnectionError, type Logger, type Pool, type StatusEventJob } from '@notify/core/platform';
import { claimDeliveries, finishDeliveries, type ClaimedDelivery, type DeliveryOutcome } from '@notify/core/deliveries';
import { enqueueStatusEvents } from '@notify/core/status-webhooks';
import type { Queue } from 'bullmq';
import { withDbRetry } from './db-retry.js';

export interface DeliveryGroupCommitOptions {
  pool: Pool;
  log: Logger;
  /** How long to wait out a database outage before giving up. */
  dbRetryMs: number;
  /** Where status webhook events go once written. */
  events?: Queue<StatusEventJob> | undefined;
}

const grouping = { maxGroup: 200, maxInFlight: 2, splitOnError: (err: unknown) => !isConnectionError(err) };

interface Lane {
  claims: GroupCommit<string, ClaimedDelivery | null>;
  finishes: GroupCommit<DeliveryOutcome & { id: string }, void>;
}

/**
 * Group commit for a channel worker's jobs: the claims its concurrent jobs
 * make at the same moment go to PostgreSQL as one statement, and so do their
 * outcomes. Each job waits for its own row's commit, so nothing is
 * acknowledged to BullMQ before it is recorded. Critical jobs have a lane of
 * their own: behind a backlog the normal lane's groups are full and always
 * in flight, and a critical job would wait for them as well as for its turn
 * in the queue.
 */
export class DeliveryGroupCommit {
  private readonly normal: Lane;
  private readonly critical: Lane;

  constructor(o: DeliveryGroupCommitOptions) {
    const lane = (): Lane => ({
      claims: new GroupCommit(async (ids) => {
        const claimed = await withDbRetry(() => claimDeliveries(o.pool, ids), o.dbRetryMs);
        return ids.map((id) => claimed.get(id) ?? null);
      }, grouping),
      finishes: new GroupCommit<DeliveryOutcome & { id: string }, void>(async (outcomes) => {
        const finished = await withDbRetry(() => finishDeliveries(o.pool, outcomes), o.dbRetryMs);
        await enqueueStatusEvents(o.events, finished.eventIds, o.log);
        return outcomes.map(() => undefined);
      }, grouping),
    });
    this.normal = lane();
    this.critical = lane();
  }

  /** The delivery, now `sending`; null when it is already finished. */
  claim(id: string, critical = false): Promise<ClaimedDelivery | null> {
    return (critical ? this.critical : this.normal).claims.submit(id);
  }

  /** Records the outcome (once: a finished delivery does not move again) and queues its status events. */
  finish(id: string, outcome: DeliveryOutcome, critical = false): Promise<void> {
    return (critical ? this.critical : this.normal).finishes.submit({ ...outcome, id });
  }
}
