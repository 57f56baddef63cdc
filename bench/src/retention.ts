import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { retentionSettings } from '@notify/core/platform';
import type { BenchEnv } from './bench-env.js';
import { warmUp } from './e2e-rate.js';
import { fixedRateLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { repeat, type Repeated, type ServiceHandle } from './repetitions.js';
import type { RunnerCommand, RunnerMessage } from './retention-runner.js';
import { BENCH_CHANNEL, type Deployment } from './service-processes.js';
import { round } from './stats.js';

/** One load window, with the retention job idle or deleting. */
export interface RetentionWindow {
  kind: 'idle' | 'deleting';
  pair: number;
  load: LoadResult;
  /** Old rows (the four tables) gone during the window. */
  rowsRemoved: number;
  /** The job found nothing more to delete before the window ended: the window was partly idle. */
  ranOut: boolean;
}

export interface RetentionRun {
  rate: number;
  rateSource: string;
  /** Rows seeded: notifications, and as many deliveries, attempts and inbox items. */
  rows: number;
  notifications: number;
  seedSeconds: number;
  settings: ReturnType<typeof retentionSettings>;
  windows: RetentionWindow[];
  /** Time the job spent deleting (always under the load) until it found nothing old left; null if not within the limit. */
  removeAllSeconds: number | null;
  /** Old rows left at the end (0 when all were removed). */
  rowsLeft: number;
}

/** Everything seeded is this much older than the retention limit. */
const DAY_MS = 86_400_000;
/** The windows stop after this long even if old rows are left. */
const REMOVE_ALL_LIMIT_MS = 20 * 60_000;
const BODY = JSON.stringify({ user_id: 'u-[<id>]', message: 'Benchmark notification', channels: [BENCH_CHANNEL], priority: 'normal' });

/**
 * Removing old rows while serving load: seeds `retentionRows` rows older than
 * the retention limit (a quarter each notifications, deliveries, attempts,
 * inbox items, with time-ordered ids as the API makes them), then drives
 * POST /notifications at a steady rate in windows, alternately with the
 * retention job idle and deleting (pairs in alternating order) until every
 * old row is gone, and compares the API's p99. The deleting is the worker's
 * own retention function with the worker's settings, run back to back in a
 * process of its own (harder on the load than the worker, which runs one
 * budget per sweep).
 */
export async function measureRetention(b: BenchEnv, service: ServiceHandle, o: BenchOptions, rate: number, rateSource: string): Promise<Repeated<RetentionRun>> {
  // One run: seeding and removing a million rows is its own repetition.
  return repeat('retention', 1, service, (_rep, d) => retentionOnce(b, d, o, rate, rateSource));
}

async function retentionOnce(b: BenchEnv, d: Deployment, o: BenchOptions, rate: number, rateSource: string): Promise<RetentionRun> {
  const runner = await startRunner(b, o);
  try {
    const old = await b.newApp('retention-old');
    const notifications = Math.ceil(o.retentionRows / 4);
    const seedStarted = performance.now();
    progress(`retention: seeding ${notifications * 4} old rows (${notifications} notifications with a delivery, an attempt and an inbox item each)`);
    const attemptIds = await seed(b, old.appId, notifications, runner.settings.days.notifications);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const oldRows = () => countOld(b, old.appId, attemptIds);
    // The load's app (its vacuum, where autovacuum is off, also covers the seeded tables).
    const { key } = await b.newApp('retention-load');
    let left = await oldRows();
    progress(`retention: ${left} old rows in ${round(seedSeconds)} s; ${rate}/s (${rateSource}), windows of ${o.retentionWindowSeconds} s`);
    await warmUp(b, d, o);
    const windows: RetentionWindow[] = [];
    const window = async (kind: RetentionWindow['kind'], pair: number) => {
      d.assertAlive();
      const doneBefore = runner.doneAfterMs() !== null;
      if (kind === 'deleting') runner.go();
      const load = await fixedRateLoad({ url: `${d.url}/notifications`, key, body: BODY, rate, seconds: o.retentionWindowSeconds });
      if (kind === 'deleting') await runner.pause();
      const now = await oldRows();
      const ranOut = kind === 'deleting' && !doneBefore && runner.doneAfterMs() !== null;
      const w: RetentionWindow = { kind, pair, load, rowsRemoved: left - now, ranOut };
      left = now;
      progress(
        `retention pair ${pair} ${kind}: achieved ${round(load.achievedRate, 0)}/s, ${load.non2xx} non-2xx, ${load.errors} errors, ` +
          `api p50 ${round(load.latencyMs?.p50 ?? NaN)} p99 ${round(load.latencyMs?.p99 ?? NaN)} ms; ${w.rowsRemoved} old rows removed, ${left} left`,
      );
      return w;
    };
    const limit = performance.now() + REMOVE_ALL_LIMIT_MS;
    for (let pair = 1; runner.doneAfterMs() === null && performance.now() < limit; pair++) {
      const kinds: RetentionWindow['kind'][] = pair % 2 === 1 ? ['idle', 'deleting'] : ['deleting', 'idle'];
      for (const kind of kinds) windows.push(await window(kind, pair));
    }
    const doneMs = runner.doneAfterMs();
    progress(`retention: ${doneMs !== null ? `done after ${round(doneMs / 1000)} s of deleting` : 'not done'}; ${left} old rows left`);
    return {
      rate,
      rateSource,
      rows: notifications * 4,
      notifications,
      seedSeconds,
      settings: runner.settings,
      windows,
      removeAllSeconds: doneMs === null ? null : doneMs / 1000,
      rowsLeft: left,
    };
  } finally {
    await runner.stop();
  }
}

/** Time-ordered ids as the API makes them (UUIDv7: the millisecond first), in SQL: `ms` a bigint, `salt` any text. */
const UUIDV7 = (ms: string, salt: string) => `(lpad(to_hex(${ms}), 12, '0') || '7' || substr(md5(${salt}), 1, 3) || '8' || substr(md5(${salt}), 4, 15))::uuid`;

/**
 * Notification i made at $2 + i * $3 ms (from 30 days past the retention
 * limit on), delivered in app, with its attempt and inbox item: what a
 * delivered in-app notification leaves. Returns the attempts' id range.
 */
async function seed(b: BenchEnv, appId: string, n: number, days: number): Promise<{ min: string; max: string }> {
  const end = Date.now() - (days + 1) * DAY_MS;
  const start = end - 30 * DAY_MS;
  const step = Math.max(1, Math.floor((end - start) / n));
  const at = `($1::bigint + i * $2::bigint)`;
  const time = `to_timestamp(${at} / 1000.0)`;
  const series = `generate_series(1, $3::int) AS i`;
  const values = [start, step, n];
  const withApp = [...values, appId];
  const client = await b.db.pool.connect();
  let range: { min: string; max: string } | undefined;
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO notifications (id, app_id, user_id, message, priority, status, pending_count, delivered_count, created_at, updated_at)
       SELECT ${UUIDV7(at, `i || 'n'`)}, $4, 'old-' || (i % 10000), 'Benchmark notification', 'normal', 'delivered', 0, 1, ${time}, ${time} FROM ${series}`,
      withApp,
    );
    await client.query(
      `INSERT INTO deliveries (id, app_id, notification_id, channel, status, attempts, provider, created_at, updated_at, delivered_at)
       SELECT ${UUIDV7(at, `i || 'd'`)}, $4, ${UUIDV7(at, `i || 'n'`)}, 'in_app', 'delivered', 1, 'inbox', ${time}, ${time}, ${time} FROM ${series}`,
      withApp,
    );
    const { rows } = await client.query<{ min: string; max: string }>(
      `WITH a AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, provider, outcome, duration_ms, created_at)
         SELECT ${UUIDV7(at, `i || 'd'`)}, 1, 'inbox', 'delivered', 3, ${time} FROM ${series} RETURNING id)
       SELECT min(id)::text AS min, max(id)::text AS max FROM a`,
      values,
    );
    range = rows[0];
    await client.query(
      `INSERT INTO inbox_items (id, app_id, user_id, notification_id, delivery_id, body, created_at)
       SELECT ${UUIDV7(at, `i || 'i'`)}, $4, 'old-' || (i % 10000), ${UUIDV7(at, `i || 'n'`)}, ${UUIDV7(at, `i || 'd'`)}, 'Benchmark notification', ${time} FROM ${series}`,
      withApp,
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
  // What autovacuum would have done to rows this old long ago.
  await b.db.pool.query('VACUUM (ANALYZE) notifications, deliveries, delivery_attempts, inbox_items');
  return range ?? { min: '0', max: '-1' };
}

async function countOld(b: BenchEnv, appId: string, attempts: { min: string; max: string }): Promise<number> {
  const { rows } = await b.db.pool.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM notifications WHERE app_id = $1) + (SELECT count(*) FROM deliveries WHERE app_id = $1)
      + (SELECT count(*) FROM delivery_attempts WHERE id BETWEEN $2 AND $3) + (SELECT count(*) FROM inbox_items WHERE app_id = $1))::int AS n`,
    [appId, attempts.min, attempts.max],
  );
  return rows[0]?.n ?? 0;
}

interface Runner {
  settings: ReturnType<typeof retentionSettings>;
  /** The job's deleting time when a run first found nothing more to delete; null before. */
  doneAfterMs(): number | null;
  go(): void;
  /** Resolves once the job stopped between two statements and holds the lock again. */
  pause(): Promise<void>;
  stop(): Promise<void>;
}

/** The retention runner process (retention-runner.ts), on the bench's schema with the service's settings. */
async function startRunner(b: BenchEnv, o: BenchOptions): Promise<Runner> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'retention-runner.ts'), [], {
    execArgv: process.execArgv,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: b.databaseUrl, DATABASE_SCHEMA: b.schema, REDIS_URL: b.redisUrl, LOG_LEVEL: 'warn', ...o.serviceEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const next = <T extends RunnerMessage['type']>(type: T) =>
    new Promise<Extract<RunnerMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: RunnerMessage) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m as Extract<RunnerMessage, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`the retention runner exited (code ${child.exitCode}) while we waited for "${type}"`)));
    });
  const send = (m: RunnerCommand) => child.send(m);
  let doneMs: number | null = null;
  child.on('message', (m: RunnerMessage) => {
    if (m.type === 'done') doneMs ??= m.activeMs;
  });
  const { settings } = await next('ready');
  return {
    settings,
    doneAfterMs: () => doneMs,
    go: () => send({ type: 'go' }),
    pause: async () => {
      const paused = next('paused');
      send({ type: 'pause' });
      await paused;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: 'exit' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
