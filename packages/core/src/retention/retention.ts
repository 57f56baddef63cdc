import type pg from 'pg';
import { statusIn, UNFINISHED } from '../deliveries/transitions.js';
import { withAdvisoryXactLock } from '../platform/db.js';
import type { RetentionSettings } from '../platform/env.js';
import type { Logger } from '../platform/logger.js';

export interface RetentionResult {
  notifications: number;
  inboxItems: number;
  statusEvents: number;
  auditEvents: number;
  /** Delete statements run, one per batch. */
  batches: number;
  /** True when the run stopped at its budget (or was stopped) with rows maybe left: the next run goes on. */
  more: boolean;
}

export interface RetentionRunOptions extends Omit<RetentionSettings, 'intervalMs'> {
  /** The clock, for tests. */
  now?: Date;
  /** Stops the run between two statements (worker shutdown). */
  signal?: AbortSignal;
}

/** Any fixed number works; it only has to differ from the other advisory locks (SWEEP_LOCK in outbox.ts). */
export const RETENTION_LOCK = 0x72657465;

const DAY_MS = 86_400_000;

/**
 * The smallest UUIDv7 of the millisecond `at`: every id made before it sorts
 * lower. Notification ids are UUIDv7 (platform/ids.ts), so "older than" is a
 * range of the primary key, with no index on created_at to write on the hot path.
 */
export function uuidv7Floor(at: Date): string {
  const hex = Math.max(0, at.getTime()).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * One batch: up to $3 notifications after $1 in id order below $2, of which
 * those safe to drop are deleted; their deliveries, attempts and replays go by
 * the foreign keys' cascade, their inbox items (no foreign key) in the same
 * statement. Safe: created before $4, no delivery unfinished or due later, not
 * scheduled for later. `pending_count = 0` is re-checked on the locked row
 * (a replay that committed after this statement began moved it).
 * Rows someone holds are skipped, never waited for: the notification
 * (SKIP LOCKED) and each of its deliveries, locked before the cascade gets to
 * them, so a replay that holds a delivery and waits for its notification
 * cannot deadlock with this statement; such a notification waits for a later run.
 * Returns the page's last id (the next batch starts after it), so kept rows
 * are read once per run.
 */
const DELETE_NOTIFICATIONS = `/* retention_notifications */ WITH page AS (
    SELECT id FROM notifications WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3
  ),
  candidates AS (
    SELECT n.id FROM notifications n
    WHERE n.id IN (SELECT id FROM page) AND n.created_at < $4 AND n.pending_count = 0
      AND (n.send_at IS NULL OR n.send_at <= now())
      AND NOT EXISTS (
        SELECT 1 FROM deliveries d
        WHERE d.notification_id = n.id AND (${statusIn(UNFINISHED, 'd.status')} OR d.scheduled_for > now())
      )
    FOR UPDATE SKIP LOCKED
  ),
  held AS (
    SELECT d.id, d.notification_id FROM deliveries d WHERE d.notification_id IN (SELECT id FROM candidates) FOR UPDATE SKIP LOCKED
  ),
  doomed AS (
    SELECT c.id FROM candidates c
    WHERE (SELECT count(*) FROM deliveries d WHERE d.notification_id = c.id) = (SELECT count(*) FROM held h WHERE h.notification_id = c.id)
  ),
  inbox AS (
    DELETE FROM inbox_items i USING held h, doomed
    WHERE h.notification_id = doomed.id AND i.delivery_id = h.id
    RETURNING i.id
  ),
  gone AS (
    DELETE FROM notifications n USING doomed WHERE n.id = doomed.id RETURNING n.id
  )
  SELECT (SELECT max(id::text) FROM page) AS last, (SELECT count(*) FROM page)::int AS scanned,
    (SELECT count(*) FROM gone)::int AS notifications, (SELECT count(*) FROM inbox)::int AS inbox`;

/**
 * Finished status events (sent, or given up) whose last change is older than
 * $2: one status at a time, so the (status, updated_at) index serves it in order.
 */
const DELETE_STATUS_EVENTS = `/* retention_status_events */ DELETE FROM status_events WHERE id IN (
    SELECT id FROM status_events WHERE status = $1 AND updated_at < $2 ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED
  )`;

/** Finished statuses of a status event; a `pending` one is still to be sent and stays. */
const FINISHED_EVENT_STATUSES = ['delivered', 'failed'] as const;

/** The audit log (audit_events, when that table exists: it may come with a later migration). */
const DELETE_AUDIT_EVENTS = `/* retention_audit_events */ DELETE FROM audit_events WHERE id IN (
    SELECT id FROM audit_events WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
  )`;

const cutoff = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deletes what is older than its limit (0 days: kept forever), a batch per
 * statement, each its own short transaction, pausing between them, until
 * nothing is left or the budget is spent. Many replicas may call it: an
 * advisory lock, held by a transaction of its own while the batches run on
 * other connections, lets one work at a time (the others get null).
 */
export async function runRetention(deps: { pool: pg.Pool; log: Logger }, opts: RetentionRunOptions): Promise<RetentionResult | null> {
  return withAdvisoryXactLock(deps.pool, RETENTION_LOCK, async () => {
    const result = await deleteOld(deps.pool, opts);
    if (result.notifications + result.statusEvents + result.auditEvents > 0) deps.log.info(result, 'retention removed old records');
    return result;
  });
}

async function deleteOld(pool: pg.Pool, opts: RetentionRunOptions): Promise<RetentionResult> {
  const now = opts.now ?? new Date();
  const deadline = Date.now() + opts.budgetMs;
  const result: RetentionResult = { notifications: 0, inboxItems: 0, statusEvents: 0, auditEvents: 0, batches: 0, more: false };
  let statementStarted = 0;
  // Before each statement: false once the run must end here. Between two, a pause of at least pauseMs that also
  // keeps the statements to dutyPercent of the run's time, so a slow statement (a loaded database) is followed by
  // a longer rest and the live load keeps the database most of the time, whatever the machine.
  const goOn = async () => {
    if (opts.signal?.aborted || Date.now() >= deadline) {
      result.more = true;
      return false;
    }
    if (result.batches > 0) {
      const lastMs = performance.now() - statementStarted;
      const restMs = Math.max(opts.pauseMs, (lastMs * (100 - opts.dutyPercent)) / opts.dutyPercent);
      if (restMs > 0) await sleep(restMs);
      if (opts.signal?.aborted || Date.now() >= deadline) {
        result.more = true;
        return false;
      }
    }
    statementStarted = performance.now();
    result.batches++;
    return true;
  };

  if (opts.days.notifications > 0) {
    const before = cutoff(now, opts.days.notifications);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      if (!(await goOn())) return result;
      const { rows } = await pool.query<{ last: string | null; scanned: number; notifications: number; inbox: number }>({
        text: DELETE_NOTIFICATIONS,
        values: [after, uuidv7Floor(before), opts.batchSize, before],
      });
      const row = rows[0]!;
      result.notifications += row.notifications;
      result.inboxItems += row.inbox;
      if (row.last === null || row.scanned < opts.batchSize) break;
      after = row.last;
    }
  }

  if (opts.days.statusEvents > 0) {
    const before = cutoff(now, opts.days.statusEvents);
    for (const status of FINISHED_EVENT_STATUSES) {
      for (;;) {
        if (!(await goOn())) return result;
        const { rowCount } = await pool.query({ text: DELETE_STATUS_EVENTS, values: [status, before, opts.batchSize] });
        result.statusEvents += rowCount ?? 0;
        if ((rowCount ?? 0) < opts.batchSize) break;
      }
    }
  }

  if (opts.days.auditEvents > 0 && (await tableExists(pool, 'audit_events'))) {
    const before = cutoff(now, opts.days.auditEvents);
    for (;;) {
      if (!(await goOn())) return result;
      const { rowCount } = await pool.query({ text: DELETE_AUDIT_EVENTS, values: [before, opts.batchSize] });
      result.auditEvents += rowCount ?? 0;
      if ((rowCount ?? 0) < opts.batchSize) break;
    }
  }
  return result;
}

/** Whether the table exists in the connection's schema (search_path). */
async function tableExists(pool: pg.Pool, table: string): Promise<boolean> {
  const { rows } = await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
  return rows[0]?.ok === true;
}
