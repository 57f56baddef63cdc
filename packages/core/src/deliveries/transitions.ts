import type { Delivery } from '../schemas/notifications.js';

/**
 * Every delivery status change, in one table. Each writer (claim, finish,
 * retry, cancel, replay) builds the status part of its statement from here:
 * `sourceIs` for the rows it may move, `target` for the status it writes, and
 * `countsUpdateSql` for its notification's counters. Adding a status or a move
 * is one edit below.
 *
 * A delivery is born `queued`, or `skipped` with a reason (accepting a
 * notification inserts it so; see INITIAL).
 */
export type DeliveryStatus = Delivery['status'];

/**
 * The notification counter each status counts in. `pending` holds the
 * unfinished statuses, the ones that must have a job in their channel's queue
 * (the outbox sweeper's set). Their order, queued, retrying, sending, is the
 * one the sweeper's partial index is declared with (prisma/schema.prisma).
 */
const BUCKET = {
  queued: 'pending',
  retrying: 'pending',
  sending: 'pending',
  delivered: 'delivered',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
} as const satisfies Record<DeliveryStatus, string>;

export type Bucket = (typeof BUCKET)[DeliveryStatus];

/** Unfinished: a job must exist for it, and a worker may still take it. */
export const UNFINISHED = statusesIn('pending');

/** The statuses a delivery is inserted with. */
export const INITIAL = ['queued', 'skipped'] as const satisfies readonly DeliveryStatus[];

interface Move {
  readonly from: readonly DeliveryStatus[];
  readonly to: readonly DeliveryStatus[];
}

/**
 * The allowed moves, by the writer that makes them.
 * - claim: a worker takes the delivery (`sending` again means its last worker died mid-send).
 * - finish: the outcome; also the sweeper's `failed` for a job BullMQ gave up on.
 * - retry: a failed attempt that will be retried.
 * - cancel: not yet handed to a provider; a delivery being sent finishes.
 * - replay: a dead letter goes back to its queue.
 * - quiet: taken inside the user's quiet hours (re-checked at send time), it waits again, unsent.
 */
export const TRANSITIONS = {
  claim: { from: UNFINISHED, to: ['sending'] },
  finish: { from: UNFINISHED, to: ['delivered', 'failed', 'skipped'] },
  retry: { from: ['sending'], to: ['retrying'] },
  cancel: { from: ['queued', 'retrying'], to: ['cancelled'] },
  replay: { from: ['failed'], to: ['queued'] },
  quiet: { from: ['sending'], to: ['queued'] },
} as const satisfies Record<string, Move>;

export type TransitionName = keyof typeof TRANSITIONS;
/** The statuses a transition may write. */
export type TargetOf<T extends TransitionName> = (typeof TRANSITIONS)[T]['to'][number];

function statusesIn(bucket: Bucket): DeliveryStatus[] {
  return (Object.keys(BUCKET) as DeliveryStatus[]).filter((s) => BUCKET[s] === bucket);
}

/** Whether some writer moves a delivery from one status to the other. */
export function canMove(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return Object.values(TRANSITIONS).some((m: Move) => m.from.includes(from) && m.to.includes(to));
}

/** Throws unless the transition may write `to`: a writer asking for a move outside the table is a bug. */
export function checkTarget<T extends TransitionName>(t: T, to: DeliveryStatus): asserts to is TargetOf<T> {
  const allowed: readonly DeliveryStatus[] = TRANSITIONS[t].to;
  if (!allowed.includes(to)) throw new Error(`delivery transition ${t} cannot move a delivery to ${to}`);
}

/** The status a transition writes, as an SQL literal, checked against the table. */
export function target<T extends TransitionName>(t: T, to: TargetOf<T>): string {
  checkTarget(t, to);
  return `'${to}'`;
}

/** SQL testing `column` for a list of statuses: `status = 'a'` or `status IN ('a', 'b')`. */
export function statusIn(statuses: readonly DeliveryStatus[], column = 'status', o: { asText?: boolean } = {}): string {
  const col = o.asText ? `${column}::text` : column;
  return statuses.length === 1 ? `${col} = '${statuses[0]}'` : `${col} IN (${statuses.map((s) => `'${s}'`).join(', ')})`;
}

/**
 * SQL testing that a row may take part in the transition: its status is one
 * the table lets it move from. `asText` compares as text, for statements that
 * find their rows by id (see store.ts on the sweeper's partial index).
 */
export function sourceIs(t: TransitionName, column = 'status', o: { asText?: boolean } = {}): string {
  return statusIn(TRANSITIONS[t].from, column, o);
}

/** The one counter bucket a transition's source statuses share (its counts move out of it). */
export function sourceBucket(t: TransitionName): Bucket {
  const buckets = new Set(TRANSITIONS[t].from.map((s) => BUCKET[s]));
  const [only] = buckets;
  if (buckets.size !== 1 || only === undefined) throw new Error(`delivery transition ${t} moves from several buckets`);
  return only;
}

/*
 * Notification counters follow their deliveries. A statement that moves
 * deliveries ends with this update, computed from the rows it moved.
 *
 * The counters are read from the notification row being updated (not from a
 * read made before), so when channels finish at the same moment PostgreSQL
 * applies one update after the other on the latest row and none is lost.
 */
const COLUMN: Record<Bucket, string> = {
  pending: 'pending_count',
  delivered: 'delivered_count',
  failed: 'failed_count',
  cancelled: 'cancelled_count',
  skipped: 'skipped_count',
};

const BUCKETS = Object.keys(COLUMN) as Bucket[];

/**
 * SQL for two more CTE steps: `delta` counts the rows of `moved` (which must
 * return notification_id and the new status) per notification, and takes
 * them out of the transition's source bucket; `counted` applies it,
 * recomputes the status and returns the notification's id, app, user,
 * status, priority and counts.
 */
export function countsUpdateSql(moved: string, t: TransitionName): string {
  const from = sourceBucket(t);
  const counts = BUCKETS.map((b) => `count(*) FILTER (WHERE ${statusIn(statusesIn(b))}) AS to_${b}`).join(', ');
  const next = Object.fromEntries(BUCKETS.map((b) => [b, `n.${COLUMN[b]} + d.to_${b}${b === from ? ' - d.moved' : ''}`])) as Record<Bucket, string>;
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
