/**
 * Notification counters follow their deliveries. A statement that moves
 * deliveries from one bucket (all its source statuses share one) to new
 * statuses ends with this update, computed from the rows it moved.
 *
 * The counters are read from the notification row being updated (not from a
 * read made before), so when channels finish at the same moment PostgreSQL
 * applies one update after the other on the latest row and none is lost.
 */
export type Bucket = 'pending' | 'delivered' | 'failed' | 'cancelled' | 'skipped';

const COLUMN: Record<Bucket, string> = {
  pending: 'pending_count',
  delivered: 'delivered_count',
  failed: 'failed_count',
  cancelled: 'cancelled_count',
  skipped: 'skipped_count',
};

const TO_FILTER: Record<Bucket, string> = {
  pending: "status IN ('queued', 'sending', 'retrying')",
  delivered: "status = 'delivered'",
  failed: "status = 'failed'",
  cancelled: "status = 'cancelled'",
  skipped: "status = 'skipped'",
};

const BUCKETS = Object.keys(COLUMN) as Bucket[];

/**
 * SQL for two more CTE steps: `delta` counts the rows of `moved` (which must
 * return notification_id and the new status) per notification; `counted`
 * applies it, recomputes the status and returns the notification's id, app,
 * user, status, priority and counts.
 */
export function countsUpdateSql(moved: string, from: Bucket): string {
  const counts = BUCKETS.map((b) => `count(*) FILTER (WHERE ${TO_FILTER[b]}) AS to_${b}`).join(', ');
  const next = Object.fromEntries(
    BUCKETS.map((b) => [b, `n.${COLUMN[b]} + d.to_${b}${b === from ? ' - d.moved' : ''}`]),
  ) as Record<Bucket, string>;
  return `delta AS (
      SELECT notification_id, count(*) AS moved, ${counts} FROM ${moved} GROUP BY notification_id
    ),
    counted AS (UPDATE notifications n SET
      ${BUCKETS.map((b) => `${COLUMN[b]} = ${next[b]}`).join(',\n      ')},
      status = CASE
        WHEN ${next.pending} > 0 THEN 'pending'
        WHEN ${next.delivered} > 0 AND ${next.failed} > 0 THEN 'partial'
        WHEN ${next.delivered} > 0 THEN 'delivered'
        WHEN ${next.failed} > 0 THEN 'failed'
        WHEN ${next.cancelled} > 0 THEN 'cancelled'
        ELSE 'skipped' END::notification_status,
      updated_at = now()
    FROM delta d WHERE n.id = d.notification_id
    RETURNING n.id, n.app_id, n.user_id, n.status, n.priority,
      n.delivered_count, n.failed_count, n.skipped_count, n.cancelled_count)`;
}
