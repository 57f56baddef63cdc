// One occurrence of a schedule: the notification(s) or workflow trigger it makes, each under an idempotency key of
// the occurrence, so a retried or re-fired occurrence sends once.
import type { Queue } from 'bullmq';
import type { Queryable } from '../platform/db.js';
import type { FanoutJob, WorkflowStepJob } from '../platform/queues.js';
import type { Idempotency, NotificationDeps } from '../notifications/accept.js';
import { createTopicNotification } from '../notifications/batches.js';
import { createNotification } from '../notifications/notifications.js';
import type { NotificationWriter } from '../notifications/writer.js';
import { ScheduleNotification } from '../schemas/schedules.js';
import { triggerWorkflow } from '../workflows/runs.js';
import { EARLIEST_ZONE, sameWallClock } from './occurrences.js';
import { loadScheduleRow, markFired, type ScheduleRow } from './store.js';

export interface FireDeps extends NotificationDeps {
  writer: NotificationWriter;
  fanout: Queue<FanoutJob>;
  /** Workflow run steps (a workflow target's runs). */
  workflows: Queue<WorkflowStepJob>;
}

/** `sent`: notifications made (workflow runs started for a workflow target; 0 for a topic fan-out, which makes them in the background). */
export type FireOutcome = { fired: true; sent: number } | { fired: false; reason: 'deleted' | 'paused' };

/** Subscribers notified at once by a `timezone: "user"` topic schedule (each is its own keyed request). */
const SUBSCRIBER_CHUNK = 200;

/** The idempotency key of one occurrence (and, for per-recipient sends, one recipient). */
export const occurrenceKey = (scheduleId: string, occurrence: Date, userId?: string): string =>
  `schedule:${scheduleId}:${occurrence.toISOString()}${userId === undefined ? '' : `:${userId}`}`;

/**
 * Fires the schedule's occurrence `occurrence` (its scheduled time): nothing
 * when the schedule has been deleted or paused since the job was made.
 * The request hash is the key itself, so a retry replays the first answer
 * even if, say, the recipient's time zone changed in between.
 */
export async function fireSchedule(deps: FireDeps, scheduleId: string, occurrence: Date): Promise<FireOutcome> {
  const row = await loadScheduleRow(deps.db.pool, scheduleId);
  if (!row) return { fired: false, reason: 'deleted' };
  if (row.paused) return { fired: false, reason: 'paused' };
  const sent = await send(deps, row, occurrence);
  await markFired(deps.db.pool, row.id, occurrence);
  return { fired: true, sent };
}

const keyed = (key: string): Idempotency => ({ key, requestHash: key });

async function send(deps: FireDeps, row: ScheduleRow, occurrence: Date): Promise<number> {
  const { target } = row;
  if (row.target_kind === 'workflow') {
    const userIds = target.user_ids ?? (target.user_id === undefined ? undefined : [target.user_id]);
    const { response } = await triggerWorkflow({ ...deps, requestId: null }, row.app_id, target.workflow!, {
      userIds,
      topic: target.topic,
      data: row.content,
      idempotencyKey: occurrenceKey(row.id, occurrence),
      scheduleId: row.id,
    });
    return response.count;
  }
  const content = ScheduleNotification.parse(row.content);
  if (row.target_kind === 'user') {
    const zones = row.timezone === null ? await userZones(deps.db.pool, row.app_id, [target.user_id!]) : null;
    await sendToUser(deps, row, content, target.user_id!, occurrence, zones, occurrenceKey(row.id, occurrence));
    return 1;
  }
  if (row.timezone !== null) {
    // A recurring send has nobody to confirm its audience at fire time: its creator chose the topic.
    await createTopicNotification(deps, row.app_id, target.topic!, content, keyed(occurrenceKey(row.id, occurrence)), { threshold: Number.POSITIVE_INFINITY });
    return 0;
  }
  return sendToSubscribers(deps, row, content, target.topic!, occurrence);
}

/** One user's notification of the occurrence; in their own zone (send_at) when the schedule follows each user's zone. */
async function sendToUser(
  deps: FireDeps,
  row: ScheduleRow,
  content: ScheduleNotification,
  userId: string,
  occurrence: Date,
  zones: Map<string, string> | null,
  key: string,
): Promise<void> {
  const sendAt = zones ? sameWallClock(occurrence, EARLIEST_ZONE, zones.get(userId) ?? 'UTC').toISOString() : undefined;
  await createNotification({ ...deps, requestId: null }, row.app_id, { ...content, user_id: userId, send_at: sendAt }, keyed(key));
}

/**
 * A topic in each subscriber's own zone: every subscriber gets a send_at of
 * their own, so each is one keyed request (key per occurrence and user),
 * walked in user id order; a retry skips those already made.
 */
async function sendToSubscribers(deps: FireDeps, row: ScheduleRow, content: ScheduleNotification, topic: string, occurrence: Date): Promise<number> {
  let sent = 0;
  for (let after = ''; ; ) {
    const { rows } = await deps.db.pool.query<{ user_id: string }>(
      'SELECT user_id FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2 AND user_id > $3 ORDER BY user_id LIMIT $4',
      [row.app_id, topic, after, SUBSCRIBER_CHUNK],
    );
    if (rows.length === 0) return sent;
    const userIds = rows.map((r) => r.user_id);
    const zones = await userZones(deps.db.pool, row.app_id, userIds);
    await Promise.all(userIds.map((u) => sendToUser(deps, row, content, u, occurrence, zones, occurrenceKey(row.id, occurrence, u))));
    sent += userIds.length;
    after = userIds.at(-1)!;
  }
}

/** The users' time zones (those with one set). */
async function userZones(db: Queryable, appId: string, userIds: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; timezone: string }>('SELECT id, timezone FROM users WHERE app_id = $1 AND id = ANY($2::text[]) AND timezone IS NOT NULL', [
    appId,
    userIds,
  ]);
  return new Map(rows.map((r) => [r.id, r.timezone]));
}
