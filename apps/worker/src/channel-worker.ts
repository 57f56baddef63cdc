import { QUEUE, type Channel, type DeliveryJob, type Logger, type Pool, type Provider } from '@notify/core';
import { Worker, type ConnectionOptions } from 'bullmq';
import { deliver, type DeliverResult } from './processors/deliver.js';

export interface ChannelWorkerOptions {
  channel: Channel;
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  pool: Pool;
  provider: Provider;
  log: Logger;
  /** Start taking jobs at once (default); false leaves it to worker.run(). */
  autorun?: boolean;
}

/** Wiring only: a BullMQ worker on the channel's queue running the deliver processor. */
export function createChannelWorker(o: ChannelWorkerOptions): Worker<DeliveryJob, DeliverResult> {
  const log = o.log.child({ channel: o.channel });
  const worker = new Worker<DeliveryJob, DeliverResult>(
    QUEUE[o.channel],
    (job) => deliver(job, { pool: o.pool, provider: o.provider, log }),
    { connection: o.connection, prefix: o.prefix, concurrency: o.concurrency, autorun: o.autorun ?? true },
  );
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return worker;
}
