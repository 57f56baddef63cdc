// What retention last did, for operators (GET /admin/retention): the worker that ran it records the run in Redis,
// with the limits it applied, so the answer is the deleting process's truth, not the API's own configuration.
import type { Queryable } from '../platform/db.js';
import type { RetentionSettings } from '../platform/env.js';
import type { Redis } from '../platform/redis.js';
import type { RetentionResult } from './retention.js';

export interface RetentionRun {
  finished_at: string;
  duration_ms: number;
  /** The limits applied, in days (0: kept forever). */
  days: { notifications: number; status_events: number; audit_events: number };
  removed: { notifications: number; inbox_items: number; status_events: number; audit_events: number };
  /** Stopped at its time budget with rows maybe left: the next run goes on at once. */
  more: boolean;
}

export interface RetentionStatus {
  last_run: RetentionRun | null;
  /** When the oldest notification still kept was created: against the limit, whether retention keeps up. */
  oldest_notification_at: string | null;
}

const lastRunKey = (prefix: string) => `${prefix}:retention:last-run`;

export async function recordRetentionRun(redis: Redis, prefix: string, days: RetentionSettings['days'], result: RetentionResult, durationMs: number): Promise<void> {
  const run: RetentionRun = {
    finished_at: new Date().toISOString(),
    duration_ms: Math.round(durationMs),
    days: { notifications: days.notifications, status_events: days.statusEvents, audit_events: days.auditEvents },
    removed: { notifications: result.notifications, inbox_items: result.inboxItems, status_events: result.statusEvents, audit_events: result.auditEvents },
    more: result.more,
  };
  await redis.set(lastRunKey(prefix), JSON.stringify(run));
}

export async function retentionStatus(redis: Redis, db: Queryable, prefix: string): Promise<RetentionStatus> {
  const [last, oldest] = await Promise.all([
    redis.get(lastRunKey(prefix)),
    // The first row of the primary key (time-ordered ids): one index probe.
    db.query<{ created_at: Date }>('SELECT created_at FROM notifications ORDER BY id LIMIT 1'),
  ]);
  return {
    last_run: last ? (JSON.parse(last) as RetentionRun) : null,
    oldest_notification_at: oldest.rows[0]?.created_at.toISOString() ?? null,
  };
}
