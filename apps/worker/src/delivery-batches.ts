import {
  Batcher,
  claimDeliveries,
  enqueueStatusEvents,
  finishDeliveries,
  isConnectionError,
  type ClaimedDelivery,
  type DeliveryOutcome,
  type Logger,
  type Pool,
  type StatusEventJob,
} from '@notify/core';
import type { Queue } from 'bullmq';
import { withDbRetry } from './db-retry.js';

export interface DeliveryBatchesOptions {
  pool: Pool;
  log: Logger;
  /** How long to wait out a database outage before giving up. */
  dbRetryMs: number;
  /** Where status webhook events go once written. */
  events?: Queue<StatusEventJob> | undefined;
}

const batching = { maxBatch: 200, maxInFlight: 2, splitOnError: (err: unknown) => !isConnectionError(err) };

/**
 * Group commit for a channel worker's jobs: the claims its concurrent jobs
 * make at the same moment go to PostgreSQL as one statement, and so do their
 * outcomes. Each job waits for its own row's commit, so nothing is
 * acknowledged to BullMQ before it is recorded.
 */
export class DeliveryBatches {
  private readonly claims: Batcher<string, ClaimedDelivery | null>;
  private readonly finishes: Batcher<DeliveryOutcome & { id: string }, void>;

  constructor(o: DeliveryBatchesOptions) {
    this.claims = new Batcher(async (ids) => {
      const claimed = await withDbRetry(() => claimDeliveries(o.pool, ids), o.dbRetryMs);
      return ids.map((id) => claimed.get(id) ?? null);
    }, batching);
    this.finishes = new Batcher<DeliveryOutcome & { id: string }, void>(async (outcomes) => {
      const finished = await withDbRetry(() => finishDeliveries(o.pool, outcomes), o.dbRetryMs);
      await enqueueStatusEvents(o.events, finished.eventIds, o.log);
      return outcomes.map(() => undefined);
    }, batching);
  }

  /** The delivery, now `sending`; null when it is already finished. */
  claim(id: string): Promise<ClaimedDelivery | null> {
    return this.claims.submit(id);
  }

  /** Records the outcome (once: a finished delivery does not move again) and queues its status events. */
  finish(id: string, outcome: DeliveryOutcome): Promise<void> {
    return this.finishes.submit({ ...outcome, id });
  }
}
