// Recurring schedules: the rows (the record) and their BullMQ job schedulers (what fires them), kept in step.
import type { Queue } from 'bullmq';
import type { PoolClient } from 'pg';
import { withTransaction, type Db, type Queryable } from '../platform/db.js';
import { AppError, notFound, type ErrorDetail } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid, newId } from '../platform/ids.js';
import type { ScheduleJob } from '../platform/queues.js';
import { recordAudit, type AuditActor } from '../access/audit.js';
import { checkRendersInEveryLocale, resolveRequest } from '../notifications/accept.js';
import type { CreateScheduleBody, Schedule, ScheduleNotification, SchedulePage, ScheduleTarget } from '../schemas/schedules.js';
import { EARLIEST_ZONE, nextOccurrences, scheduleTimingProblems } from './occurrences.js';

export interface ScheduleDeps {
  db: Db;
  /** The schedules queue, whose job schedulers fire the schedules. */
  schedules: Queue<ScheduleJob>;
}

export type TargetKind = 'user' | 'topic' | 'workflow';

/** A schedule's row as stored. */
export interface ScheduleRow {
  id: string;
  app_id: string;
  cron: string;
  /** Null: each recipient's own zone. */
  timezone: string | null;
  target_kind: TargetKind;
  target: ScheduleTarget;
  /** The notification (user and topic targets) or the workflow trigger's data. */
  content: Record<string, unknown>;
  paused: boolean;
  fired: number;
  last_fired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** How many next occurrences a schedule's view lists. */
const NEXT_SHOWN = 5;

/** The zone a schedule's job scheduler reads its cron expression in. */
export const firingZone = (row: Pick<ScheduleRow, 'timezone'>): string => row.timezone ?? EARLIEST_ZONE;

export function scheduleView(row: ScheduleRow, now = new Date()): Schedule {
  const isWorkflow = row.target_kind === 'workflow';
  return {
    id: row.id,
    cron: row.cron,
    timezone: row.timezone ?? 'user',
    target: row.target,
    notification: isWorkflow ? null : (row.content as ScheduleNotification),
    data: isWorkflow ? row.content : null,
    paused: row.paused,
    fired: row.fired,
    last_fired_at: row.last_fired_at?.toISOString() ?? null,
    next_occurrences: row.paused ? [] : nextOccurrences(row.cron, firingZone(row), now, NEXT_SHOWN).map((d) => d.toISOString()),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/**
 * Adds (or replaces) the schedule's job scheduler. Its jobs carry only the
 * schedule's id; the row is read again at each occurrence.
 */
export async function upsertScheduler(queue: Queue<ScheduleJob>, row: Pick<ScheduleRow, 'id' | 'cron' | 'timezone'>): Promise<void> {
  await queue.upsertJobScheduler(
    row.id,
    { pattern: row.cron, tz: firingZone(row) },
    {
      name: 'fire',
      data: { schedule_id: row.id },
      opts: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    },
  );
}

const invalid = (details: ErrorDetail[]) => new AppError('validation_failed', 'The request is not valid', details);

/** What a schedule would send must resolve now (template, category, channels) and render in every locale, or the schedule is refused (422). */
async function checkContent(db: Db, appId: string, body: CreateScheduleBody): Promise<void> {
  const { target } = body;
  if (target.topic !== undefined) {
    const { rowCount } = await db.pool.query('SELECT 1 FROM topics WHERE app_id = $1 AND key = $2', [appId, target.topic]);
    if (!rowCount) throw invalid([{ path: 'target.topic', message: `no topic ${target.topic}` }]);
  }
  if (target.workflow !== undefined) {
    const { rowCount } = await db.pool.query('SELECT 1 FROM workflows WHERE app_id = $1 AND key = $2', [appId, target.workflow]);
    if (!rowCount) throw invalid([{ path: 'target.workflow', message: `no workflow ${target.workflow}` }]);
    return;
  }
  try {
    await checkRendersInEveryLocale(await resolveRequest({ db }, appId, body.notification!));
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.code === 'not_found') throw invalid([{ path: 'notification.template', message: err.message }]);
    if (err.code === 'validation_failed') throw invalid((err.details ?? []).map((d) => ({ ...d, path: `notification.${d.path}` })));
    throw err;
  }
}

const kindOf = (target: ScheduleTarget): TargetKind => (target.workflow !== undefined ? 'workflow' : target.topic !== undefined ? 'topic' : 'user');

const COLUMNS = 'id, app_id, cron, timezone, target_kind, target, content, paused, fired, last_fired_at, created_at, updated_at';

/**
 * Creates a schedule: the row and its audit record in one transaction, the
 * job scheduler added before that transaction commits, so a Redis that
 * refuses leaves no row behind (503). A commit that fails after the
 * scheduler was added leaves a scheduler whose occurrences find no row and
 * send nothing.
 */
export async function createSchedule(deps: ScheduleDeps, appId: string, body: CreateScheduleBody, by?: AuditActor): Promise<Schedule> {
  const problems = scheduleTimingProblems(body.cron, body.timezone);
  if (problems.length > 0) throw invalid(problems);
  await checkContent(deps.db, appId, body);
  const kind = kindOf(body.target);
  const content = kind === 'workflow' ? (body.data ?? {}) : body.notification;
  const row = await withTransaction(deps.db.pool, async (client) => {
    const { rows } = await client.query<ScheduleRow>(
      `INSERT INTO schedules (id, app_id, cron, timezone, target_kind, target, content) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [newId(), appId, body.cron, body.timezone === 'user' ? null : body.timezone, kind, JSON.stringify(body.target), JSON.stringify(content)],
    );
    const created = rows[0]!;
    await recordAudit(client, by, {
      appId,
      action: 'schedule.created',
      targetType: 'schedule',
      targetId: created.id,
      summary: { cron: created.cron, timezone: body.timezone, target_kind: kind },
    });
    await upsertScheduler(deps.schedules, created);
    return created;
  });
  return scheduleView(row);
}

/** The row of one of the app's schedules, locked for the change being made; 404 when the app has none with this id. */
async function lockRow(client: PoolClient, appId: string, id: string): Promise<ScheduleRow> {
  const row = isUuid(id) ? (await client.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE id = $1 AND app_id = $2 FOR UPDATE`, [id, appId])).rows[0] : undefined;
  if (!row) throw notFound('Schedule');
  return row;
}

export async function loadScheduleRow(db: Queryable, id: string): Promise<ScheduleRow | null> {
  const { rows } = await db.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function getSchedule(db: Db, appId: string, id: string): Promise<Schedule> {
  const row = isUuid(id) ? await loadScheduleRow(db.pool, id) : null;
  if (row?.app_id !== appId) throw notFound('Schedule');
  return scheduleView(row);
}

/** The app's schedules, newest first. */
export async function listSchedules(db: Db, appId: string, q: { limit: number; cursor?: string | undefined }): Promise<SchedulePage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const { rows } = await db.pool.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE app_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`, [
    appId,
    after ?? null,
    q.limit + 1,
  ]);
  const page = rows.slice(0, q.limit);
  const now = new Date();
  return { data: page.map((r) => scheduleView(r, now)), next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null };
}

/**
 * Pauses or resumes: the row changes and the job scheduler is removed (or
 * added again, from the next occurrence on) under the row's lock, so
 * concurrent pauses and resumes end in agreement. Pausing a paused schedule
 * (resuming a running one) changes nothing and records nothing.
 */
export async function setSchedulePaused(deps: ScheduleDeps, appId: string, id: string, paused: boolean, by?: AuditActor): Promise<Schedule> {
  const row = await withTransaction(deps.db.pool, async (client) => {
    const current = await lockRow(client, appId, id);
    if (current.paused === paused) return current;
    const { rows } = await client.query<ScheduleRow>(`UPDATE schedules SET paused = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [current.id, paused]);
    await recordAudit(client, by, { appId, action: paused ? 'schedule.paused' : 'schedule.resumed', targetType: 'schedule', targetId: current.id });
    if (paused) await deps.schedules.removeJobScheduler(current.id);
    else await upsertScheduler(deps.schedules, current);
    return rows[0]!;
  });
  return scheduleView(row);
}

/** Deletes the schedule and its job scheduler (removed first: a Redis that refuses leaves the schedule as it was, 503). */
export async function deleteSchedule(deps: ScheduleDeps, appId: string, id: string, by?: AuditActor): Promise<void> {
  await withTransaction(deps.db.pool, async (client) => {
    const current = await lockRow(client, appId, id);
    await deps.schedules.removeJobScheduler(current.id);
    await client.query('DELETE FROM schedules WHERE id = $1', [current.id]);
    await recordAudit(client, by, { appId, action: 'schedule.deleted', targetType: 'schedule', targetId: current.id, summary: { fired: current.fired } });
  });
}

/** Counts an occurrence once, however often it is fired (a retried job): only an occurrence later than the last one counts. */
export async function markFired(db: Queryable, id: string, occurrence: Date): Promise<void> {
  await db.query('UPDATE schedules SET fired = fired + 1, last_fired_at = $2 WHERE id = $1 AND (last_fired_at IS NULL OR last_fired_at < $2)', [id, occurrence]);
}

/**
 * The job schedulers made to agree with the committed rows: one for every
 * running schedule, none for a paused or deleted one. Run by the maintenance
 * sweep, it repairs what a change cannot make atomic across PostgreSQL and
 * Redis (a commit that failed after the scheduler changed, a Redis that lost
 * its data); a change in flight that it undoes is redone by the next sweep,
 * and the row checked at fire time keeps a paused schedule silent meanwhile.
 */
export async function reconcileSchedulers(db: Queryable, queue: Queue<ScheduleJob>): Promise<{ added: number; removed: number }> {
  const { rows } = await db.query<Pick<ScheduleRow, 'id' | 'cron' | 'timezone'>>('SELECT id, cron, timezone FROM schedules WHERE NOT paused');
  const running = new Map(rows.map((r) => [r.id, r]));
  const present = new Set((await queue.getJobSchedulers(0, -1)).map((s) => s.key));
  const missing = rows.filter((r) => !present.has(r.id));
  const extra = [...present].filter((id) => !running.has(id));
  for (const row of missing) await upsertScheduler(queue, row);
  for (const id of extra) await queue.removeJobScheduler(id);
  return { added: missing.length, removed: extra.length };
}
