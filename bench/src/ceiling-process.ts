// One side of a BullMQ ceiling, in a process of its own as the service runs
// them: a producer (add with 64 in flight, or addBulk of 1,000) or a no-op
// worker. Forked by ceilings.ts, which times and samples both from outside.
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { createRedis, deliveryJobOptions, newId, redisReady, type DeliveryJob, type RetryPolicy } from '@notify/core/platform';

export type JobStyle = 'defaults' | 'service';

export type CeilingCommand =
  | { type: 'worker'; redisUrl: string; prefix: string; queue: string; n: number; concurrency: number }
  | { type: 'producer'; redisUrl: string; prefix: string; queue: string; n: number; style: JobStyle; bulk: boolean }
  | { type: 'go' };
export type CeilingMessage = { type: 'ready' } | { type: 'done' } | { type: 'failed'; error: string };

/** The service's defaults (DELIVERY_ATTEMPTS, RETRY_BASE_DELAY_MS): the same job options as a delivery. */
const RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 2000 };
/** Adds in flight from the one producer (the API has as many as its concurrent requests). */
const IN_FLIGHT = 64;

/** A job as the service adds it, or as BullMQ adds one by default (its own id, no priority) but for removeOnComplete. */
function jobOf(style: JobStyle): { name: string; data: DeliveryJob; opts: JobsOptions } {
  const id = newId();
  const data: DeliveryJob = { delivery_id: id, notification_id: newId(), channel: 'in_app' };
  return { name: 'deliver', data, opts: style === 'service' ? deliveryJobOptions(id, 'normal', RETRY) : { removeOnComplete: true } };
}

const send = (m: CeilingMessage) => process.send?.(m);
const fail = (err: unknown) => send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });

async function worker(c: Extract<CeilingCommand, { type: 'worker' }>): Promise<void> {
  const connection = createRedis(c.redisUrl, 'worker');
  let completed = 0;
  const w = new Worker<DeliveryJob>(c.queue, async () => {}, { connection, prefix: c.prefix, concurrency: c.concurrency });
  w.on('completed', () => {
    if (++completed === c.n) send({ type: 'done' });
  });
  w.on('error', fail);
  await w.waitUntilReady();
  send({ type: 'ready' });
}

async function producer(c: Extract<CeilingCommand, { type: 'producer' }>): Promise<void> {
  // The API's kind of connection: fails fast instead of queueing commands while disconnected.
  const connection = createRedis(c.redisUrl, 'producer');
  await redisReady(connection);
  const queue = new Queue<DeliveryJob>(c.queue, { connection, prefix: c.prefix });
  await queue.waitUntilReady();
  // Built beforehand for addBulk: it measures the queue, not object construction.
  const batches = c.bulk ? Array.from({ length: Math.ceil(c.n / 1000) }, () => Array.from({ length: 1000 }, () => jobOf(c.style))) : [];
  process.once('message', (m: CeilingCommand) => {
    if (m.type !== 'go') return;
    const run = async () => {
      if (c.bulk) for (const batch of batches) await queue.addBulk(batch);
      else {
        let next = 0;
        await Promise.all(
          Array.from({ length: IN_FLIGHT }, async () => {
            while (next < c.n) {
              next++;
              const job = jobOf(c.style);
              await queue.add(job.name, job.data, job.opts);
            }
          }),
        );
      }
      send({ type: 'done' });
    };
    run().catch(fail);
  });
  send({ type: 'ready' });
}

process.once('message', (m: CeilingCommand) => {
  if (m.type === 'worker') worker(m).catch(fail);
  else if (m.type === 'producer') producer(m).catch(fail);
});
process.on('disconnect', () => process.exit(0));
