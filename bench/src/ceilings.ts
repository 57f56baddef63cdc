import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { createRedis, deliveryJobOptions, newId, redisReady, type DeliveryJob, type RetryPolicy } from '@notify/core/platform';
import type { BenchEnv } from './bench-env.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { round } from './stats.js';

/**
 * What the building blocks manage on their own on this machine, measured in
 * the same run so that the service's figures can be read as a share of them:
 * BullMQ on the same Redis with the service's job options, and `pg` writing
 * rows shaped like the service's notifications.
 */
export interface Ceilings {
  /** Jobs/s from the first add to the last completion: 64 adds in flight, a no-op worker at concurrency 100. */
  bullmqAddProcess: number;
  /** Jobs/s through addBulk of 1,000 jobs, one call at a time, no worker. */
  bullmqAddBulk: number;
  /** Rows/s of single-row INSERTs, 32 in flight (one connection each). */
  pgSingle: number;
  /** Rows/s of 1,000-row INSERT ... SELECT FROM unnest(...) statements, one at a time. */
  pgBatch: number;
}

/** The service's defaults (DELIVERY_ATTEMPTS, RETRY_BASE_DELAY_MS): the same job options as a delivery. */
const RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 2000 };

export async function measureCeilings(b: BenchEnv, o: BenchOptions): Promise<Ceilings[]> {
  const sizes = o.quick ? { addProcess: 10_000, addBulk: 20_000, single: 5_000, batch: 20_000 } : { addProcess: 40_000, addBulk: 60_000, single: 20_000, batch: 100_000 };
  const reps: Ceilings[] = [];
  for (let rep = 1; rep <= o.reps; rep++) {
    const c: Ceilings = {
      bullmqAddProcess: await bullmqAddProcess(b, sizes.addProcess),
      bullmqAddBulk: await bullmqAddBulk(b, sizes.addBulk),
      pgSingle: await pgSingleRows(b, sizes.single),
      pgBatch: await pgBatchRows(b, sizes.batch),
    };
    progress(
      `ceilings rep ${rep}: BullMQ add+process ${round(c.bullmqAddProcess, 0)} jobs/s, addBulk ${round(c.bullmqAddBulk, 0)} jobs/s, ` +
        `pg single ${round(c.pgSingle, 0)} rows/s, pg batched ${round(c.pgBatch, 0)} rows/s`,
    );
    reps.push(c);
  }
  return reps;
}

function jobOf(): { name: string; data: DeliveryJob; opts: ReturnType<typeof deliveryJobOptions> } {
  const id = newId();
  return { name: 'deliver', data: { delivery_id: id, notification_id: newId(), channel: 'in_app' }, opts: deliveryJobOptions(id, 'normal', RETRY) };
}

/** A queue of its own under the bench prefix, removed afterwards. */
async function withQueue<T>(b: BenchEnv, fn: (queue: Queue<DeliveryJob>, name: string) => Promise<T>): Promise<T> {
  const name = `bench.ceiling.${randomBytes(4).toString('hex')}`;
  // The API's kind of connection: fails fast instead of queueing commands while disconnected.
  const producer = createRedis(b.redisUrl, 'producer');
  await redisReady(producer);
  const queue = new Queue<DeliveryJob>(name, { connection: producer, prefix: b.prefix });
  try {
    return await fn(queue, name);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
  }
}

async function bullmqAddProcess(b: BenchEnv, n: number): Promise<number> {
  return withQueue(b, async (queue, name) => {
    const consumer = createRedis(b.redisUrl, 'worker');
    let completed = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const worker = new Worker<DeliveryJob>(name, async () => {}, { connection: consumer, prefix: b.prefix, concurrency: 100 });
    worker.on('completed', () => {
      if (++completed === n) allDone();
    });
    try {
      await worker.waitUntilReady();
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < n) {
            next++;
            const job = jobOf();
            await queue.add(job.name, job.data, job.opts);
          }
        }),
      );
      await withTimeout(done, 120_000, `${n} no-op jobs to complete`);
      return n / ((performance.now() - started) / 1000);
    } finally {
      await worker.close();
      consumer.disconnect();
    }
  });
}

async function bullmqAddBulk(b: BenchEnv, n: number): Promise<number> {
  return withQueue(b, async (queue) => {
    // Built beforehand: this measures the queue, not object construction.
    const batches = Array.from({ length: Math.ceil(n / 1000) }, () => Array.from({ length: 1000 }, jobOf));
    const started = performance.now();
    for (const batch of batches) await queue.addBulk(batch);
    return (batches.length * 1000) / ((performance.now() - started) / 1000);
  });
}

/** A copy of the notifications table (columns, defaults, indexes; no foreign keys), emptied between uses. */
async function withRowsTable<T>(b: BenchEnv, poolSize: number, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  await b.db.pool.query('CREATE TABLE IF NOT EXISTS bench_ceiling_rows (LIKE notifications INCLUDING ALL)');
  await b.db.pool.query('TRUNCATE bench_ceiling_rows');
  const pool = new pg.Pool({ connectionString: b.databaseUrl, max: poolSize, options: `-c search_path="${b.schema}"` });
  try {
    await Promise.all(Array.from({ length: poolSize }, () => pool.query('SELECT 1')));
    return await fn(pool);
  } finally {
    await pool.end();
    await b.db.pool.query('TRUNCATE bench_ceiling_rows');
  }
}

const INSERT_ONE = `INSERT INTO bench_ceiling_rows (id, app_id, user_id, message, priority, status, pending_count, created_at, updated_at)
  VALUES ($1, $2, $3, $4, 'normal', 'pending', 1, $5, $5)`;

async function pgSingleRows(b: BenchEnv, n: number): Promise<number> {
  return withRowsTable(b, 32, async (pool) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) {
          const i = next++;
          await pool.query({ name: 'bench_insert_one', text: INSERT_ONE, values: [newId(), 'bench', `u-${i}`, 'Benchmark message', new Date()] });
        }
      }),
    );
    return n / ((performance.now() - started) / 1000);
  });
}

const INSERT_MANY = `INSERT INTO bench_ceiling_rows (id, app_id, user_id, message, priority, status, pending_count, created_at, updated_at)
  SELECT id, 'bench', user_id, message, 'normal', 'pending', 1, created_at, created_at
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS t(id, user_id, message, created_at)`;

async function pgBatchRows(b: BenchEnv, n: number): Promise<number> {
  return withRowsTable(b, 1, async (pool) => {
    const statements = Math.ceil(n / 1000);
    const started = performance.now();
    for (let s = 0; s < statements; s++) {
      const ids = Array.from({ length: 1000 }, newId);
      const now = new Date();
      await pool.query({
        name: 'bench_insert_many',
        text: INSERT_MANY,
        values: [ids, ids.map((_, i) => `u-${s}-${i}`), ids.map(() => 'Benchmark message'), ids.map(() => now)],
      });
    }
    return (statements * 1000) / ((performance.now() - started) / 1000);
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
