import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { createRedis, newId } from '@notify/core/platform';
import type { BenchEnv } from './bench-env.js';
import type { CeilingCommand, CeilingMessage, JobStyle } from './ceiling-process.js';
import { cpuSeconds, cpuSnapshot } from './cpu.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { percentile, round } from './stats.js';

/** A BullMQ ceiling: its rate, and where its CPU went (µs per job). */
export interface QueueCeiling {
  jobsPerSecond: number;
  cpuUsPerJob: { producer: number; worker: number; redis: number; total: number };
}

/**
 * What the building blocks manage on their own on this machine, measured in
 * the same run so that the service's figures can be read as a share of them.
 * BullMQ runs as the service runs it: the producer and the no-op worker in
 * processes of their own, on the same Redis; each with the service's job
 * options and with BullMQ's defaults. `pg` writes rows shaped like the
 * service's notifications.
 */
export interface Ceilings {
  /** First add to last completion: 64 adds in flight, a no-op worker at concurrency 200. */
  addProcess: Record<JobStyle, QueueCeiling>;
  /** The same through addBulk of 1,000 jobs, one call at a time. */
  addBulkProcess: Record<JobStyle, QueueCeiling>;
  /** Rows/s of single-row INSERTs, 32 in flight (one connection each). */
  pgSingle: number;
  /** Rows/s of 1,000-row INSERT ... SELECT FROM unnest(...) statements, one at a time. */
  pgBatch: number;
  /** Latency of one single-row INSERT and its commit, one at a time on one connection (ms): what an idle API's write should look like. */
  pgInsertMs: { p50: number; p99: number };
}

const STYLES: JobStyle[] = ['defaults', 'service'];

export async function measureCeilings(b: BenchEnv, o: BenchOptions): Promise<Ceilings[]> {
  const sizes = o.quick
    ? { addProcess: 20_000, addBulk: 40_000, single: 5_000, batch: 20_000, sequential: 500 }
    : { addProcess: 40_000, addBulk: 60_000, single: 20_000, batch: 100_000, sequential: 2_000 };
  const reps: Ceilings[] = [];
  for (let rep = 1; rep <= o.reps; rep++) {
    const addProcess = {} as Record<JobStyle, QueueCeiling>;
    const addBulkProcess = {} as Record<JobStyle, QueueCeiling>;
    // Alternating the order between repetitions: neither style always runs on a warmer machine.
    for (const style of rep % 2 ? STYLES : [...STYLES].reverse()) {
      addProcess[style] = await queueCeiling(b, sizes.addProcess, style, false);
      addBulkProcess[style] = await queueCeiling(b, sizes.addBulk, style, true);
    }
    const c: Ceilings = {
      addProcess,
      addBulkProcess,
      pgSingle: await pgSingleRows(b, sizes.single),
      pgBatch: await pgBatchRows(b, sizes.batch),
      pgInsertMs: await pgInsertLatency(b, sizes.sequential),
    };
    const q = (x: QueueCeiling) => `${round(x.jobsPerSecond, 0)} jobs/s (${round(x.cpuUsPerJob.total, 0)} µs CPU/job)`;
    progress(
      `ceilings rep ${rep}: BullMQ add+process service ${q(c.addProcess.service)}, defaults ${q(c.addProcess.defaults)}; ` +
        `addBulk+process service ${q(c.addBulkProcess.service)}, defaults ${q(c.addBulkProcess.defaults)}; ` +
        `pg single ${round(c.pgSingle, 0)} rows/s, pg batched ${round(c.pgBatch, 0)} rows/s, one insert at a time p50 ${round(c.pgInsertMs.p50)} p99 ${round(c.pgInsertMs.p99)} ms`,
    );
    reps.push(c);
  }
  return reps;
}

/**
 * n jobs from a producer process to a no-op worker process on a queue of
 * their own (removed afterwards), timed from "go" to the last completion,
 * with the CPU of both processes and of Redis over that interval.
 */
async function queueCeiling(b: BenchEnv, n: number, style: JobStyle, bulk: boolean): Promise<QueueCeiling> {
  const queue = `bench.ceiling.${randomBytes(4).toString('hex')}`;
  const common = { redisUrl: b.redisUrl, prefix: b.prefix, queue, n };
  const worker = await forkSide({ type: 'worker', ...common, concurrency: 200 });
  const producer = await forkSide({ type: 'producer', ...common, style, bulk }).catch(async (err: unknown) => {
    await worker.stop();
    throw err;
  });
  try {
    const done = worker.next('done');
    const added = producer.next('done');
    const before = cpuSnapshot();
    const started = performance.now();
    producer.send({ type: 'go' });
    await withTimeout(Promise.all([added, done]), 180_000, `${n} no-op jobs to complete`);
    const seconds = (performance.now() - started) / 1000;
    const used = cpuSeconds(before, cpuSnapshot(), { api: producer.pid, worker: worker.pid }, new Set());
    const us = (s: number) => (s / n) * 1e6;
    return {
      jobsPerSecond: n / seconds,
      cpuUsPerJob: { producer: us(used.api), worker: us(used.worker), redis: us(used.redis), total: us(used.api + used.worker + used.redis) },
    };
  } finally {
    await Promise.all([producer.stop(), worker.stop()]);
    const cleaner = createRedis(b.redisUrl, 'producer');
    const q = new Queue(queue, { connection: cleaner, prefix: b.prefix });
    await q.obliterate({ force: true });
    await q.close();
    cleaner.disconnect();
  }
}

interface Side {
  pid: number;
  send: (m: CeilingCommand) => void;
  next: (type: CeilingMessage['type']) => Promise<void>;
  stop: () => Promise<void>;
}

async function forkSide(command: CeilingCommand): Promise<Side> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'ceiling-process.ts'), [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const next = (type: CeilingMessage['type']) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: CeilingMessage) => {
        if (m.type === 'failed') reject(new Error(`a ceiling process failed: ${m.error}`));
        else if (m.type === type) resolve();
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`a ceiling process exited (code ${child.exitCode}) while we waited for "${type}"`)));
    });
  const ready = next('ready');
  child.send(command);
  const side: Side = {
    pid: child.pid!,
    send: (m) => child.send(m),
    next,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await ready.catch(async (err: unknown) => {
    await side.stop();
    throw err;
  });
  return side;
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

async function pgInsertLatency(b: BenchEnv, n: number): Promise<{ p50: number; p99: number }> {
  return withRowsTable(b, 1, async (pool) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      await pool.query({ name: 'bench_insert_one', text: INSERT_ONE, values: [newId(), 'bench', `u-${i}`, 'Benchmark message', new Date()] });
      ms.push(performance.now() - started);
    }
    ms.sort((x, y) => x - y);
    return { p50: percentile(ms, 0.5)!, p99: percentile(ms, 0.99)! };
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
