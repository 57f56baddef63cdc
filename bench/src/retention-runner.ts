// A child process of the bench's retention section: the worker's retention
// (runRetention with the settings the worker reads from its environment),
// started and paused by the parent over IPC. While paused it holds the
// retention lock, so the service's own worker cannot delete in an idle window.
import { ADVISORY_LOCK_KEYS, closeDb, createDb, processBase, retentionSettings } from '@notify/core/platform';
import { RETENTION_LOCK, runRetention } from '@notify/core/retention';

/** Parent -> runner. */
export type RunnerCommand = { type: 'go' } | { type: 'pause' } | { type: 'exit' };
/** Runner -> parent. */
export type RunnerMessage =
  | { type: 'ready'; settings: ReturnType<typeof retentionSettings> }
  /** `activeMs`: time spent deleting so far, over every go-pause stretch. */
  | { type: 'paused'; activeMs: number }
  /** A run found nothing more to delete. */
  | { type: 'done'; activeMs: number };

const { env, log } = processBase('bench-retention');
const settings = retentionSettings(env);
const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: env.DATABASE_POOL_SIZE });
const send = (m: RunnerMessage) => process.send?.(m);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The lock taken while paused, on a connection of its own (a session lock).
const holder = await db.pool.connect();
await holder.query(`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEYS})`, [RETENTION_LOCK]);
let running: { stop: AbortController; loop: Promise<void> } | null = null;
let activeMs = 0;

async function loop(signal: AbortSignal): Promise<void> {
  let from = performance.now();
  const clock = () => {
    const now = performance.now();
    activeMs += now - from;
    from = now;
  };
  try {
    while (!signal.aborted) {
      const result = await runRetention({ pool: db.pool, log }, { ...settings, signal });
      // null: the worker's own run holds the lock; it deletes meanwhile, with the same settings.
      if (result === null) await sleep(100);
      else if (!result.more) {
        clock();
        send({ type: 'done', activeMs });
        return;
      }
    }
  } finally {
    clock();
  }
}

process.on('message', (m: RunnerCommand) => {
  void (async () => {
    if (m.type === 'go' && !running) {
      await holder.query(`SELECT pg_advisory_unlock(${ADVISORY_LOCK_KEYS})`, [RETENTION_LOCK]);
      const stop = new AbortController();
      running = { stop, loop: loop(stop.signal) };
    } else if (m.type === 'pause') {
      if (running) {
        running.stop.abort();
        await running.loop;
        running = null;
        await holder.query(`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEYS})`, [RETENTION_LOCK]);
      }
      send({ type: 'paused', activeMs });
    } else if (m.type === 'exit') {
      running?.stop.abort();
      await running?.loop;
      holder.release();
      await closeDb(db);
      process.exit(0);
    }
  })().catch((err: unknown) => {
    log.error({ err }, 'bench retention runner failed');
    process.exit(1);
  });
});
send({ type: 'ready', settings });
