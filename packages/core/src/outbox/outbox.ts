import type pg from 'pg';
import type { Channel, Priority } from '../platform/channels.js';
import { finishDelivery } from '../deliveries/store.js';
import { withAdvisoryXactLock } from '../platform/db.js';
import { UNFINISHED, statusIn } from '../deliveries/transitions.js';
import type { Logger } from '../platform/logger.js';
import type { Queue } from 'bullmq';
import { deliveryJobOptions, workflowStepJobId, type ChannelQueues, type FanoutJob, type RetryPolicy, type StatusEventJob, type WorkflowStepJob } from '../platform/queues.js';
import type { Redis } from '../platform/redis.js';

/** A delivery that must have a job in its channel's queue. */
export interface QueuedDelivery {
  id: string;
  notificationId: string;
  channel: Channel;
  priority: Priority;
  /** Hold the job until then (send_at, quiet hours); null or past: at once. */
  notBefore: Date | null;
  requestId?: string | null;
  /** The accepting request's span, when tracing is on; the sweeper has none (not stored). */
  traceparent?: string | undefined;
}

function byChannel(deliveries: QueuedDelivery[]): Map<Channel, QueuedDelivery[]> {
  const groups = new Map<Channel, QueuedDelivery[]>();
  for (const d of deliveries) groups.set(d.channel, [...(groups.get(d.channel) ?? []), d]);
  return groups;
}

/** Adds one job per delivery, one round trip per channel queue. An existing job id is left alone. */
export async function addDeliveryJobs(queues: ChannelQueues, retry: RetryPolicy, deliveries: QueuedDelivery[]): Promise<void> {
  const now = Date.now();
  await Promise.all(
    [...byChannel(deliveries)].map(([channel, ds]) =>
      queues[channel].addBulk(
        ds.map((d) => ({
          name: 'deliver',
          data: {
            delivery_id: d.id,
            notification_id: d.notificationId,
            channel,
            ...(d.requestId ? { request_id: d.requestId } : {}),
            ...(d.traceparent ? { traceparent: d.traceparent } : {}),
          },
          opts: deliveryJobOptions(d.id, d.priority, retry, d.notBefore ? d.notBefore.getTime() - now : 0),
        })),
      ),
    ),
  );
}

/** Adds a topic fan-out's job; its id is the batch id, so adding twice is harmless. */
export async function addFanoutJob(fanout: Queue<FanoutJob>, batchId: string, requestId?: string | null): Promise<void> {
  await fanout.add('fanout', { batch_id: batchId, ...(requestId ? { request_id: requestId } : {}) }, { jobId: batchId });
}

/** A workflow run's next step and when it is due (see workflowStepJobId). */
export interface DueWorkflowStep {
  runId: string;
  stepIndex: number;
  dueAt: Date;
  requestId?: string | null | undefined;
}

/** Adds workflow step jobs, each held until its step is due; an existing job id is left alone. */
export async function addWorkflowStepJobs(queue: Queue<WorkflowStepJob>, steps: DueWorkflowStep[]): Promise<void> {
  if (steps.length === 0) return;
  const now = Date.now();
  await queue.addBulk(
    steps.map((s) => ({
      name: 'step',
      data: { run_id: s.runId, step_index: s.stepIndex, ...(s.requestId ? { request_id: s.requestId } : {}) },
      opts: { jobId: workflowStepJobId(s.runId, s.stepIndex, s.dueAt), delay: Math.max(0, s.dueAt.getTime() - now) },
    })),
  );
}

/**
 * Replaces finished jobs (a replayed delivery's old failed job keeps its id)
 * with fresh ones. A job a worker holds right now cannot be removed and stays.
 */
export async function requeueDeliveries(queues: ChannelQueues, retry: RetryPolicy, deliveries: QueuedDelivery[]): Promise<void> {
  await Promise.all(deliveries.map((d) => queues[d.channel].remove(d.id).catch(() => 0)));
  await addDeliveryJobs(queues, retry, deliveries);
}

export interface SweepOptions {
  /** Only rows untouched for this long are checked: younger ones are still being enqueued. */
  graceMs: number;
  pageSize?: number;
}

export interface SweepResult {
  checked: number;
  /** Unfinished deliveries that had no live job and got one. */
  readded: number;
  /** Unfinished deliveries whose job BullMQ gave up on outside the processor (e.g. stalled too often). */
  failed: number;
}

/** Any fixed number works; it only has to differ from other advisory locks on the database. */
const SWEEP_LOCK = 0x6e6f7466;

/**
 * The outbox sweeper: the deliveries table says which jobs must exist, and
 * this makes Redis agree. It re-adds jobs lost between commit and enqueue (a
 * crash) or with Redis's data, and ends deliveries whose job BullMQ failed
 * without our processor recording it. Many replicas may call it: an advisory
 * lock lets one sweep at a time (its pages are read in the lock's transaction),
 * and job id = delivery id makes a re-add harmless.
 */
export async function sweepOutbox(
  deps: {
    pool: pg.Pool;
    redis: Redis;
    queues: ChannelQueues;
    fanout?: Queue<FanoutJob>;
    events?: Queue<StatusEventJob>;
    workflows?: Queue<WorkflowStepJob>;
    retry: RetryPolicy;
    log: Logger;
  },
  opts: SweepOptions,
): Promise<SweepResult | null> {
  return withAdvisoryXactLock(deps.pool, SWEEP_LOCK, async (client) => {
    const result: SweepResult = { checked: 0, readded: 0, failed: 0 };
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await client.query<{
        id: string;
        notification_id: string;
        channel: Channel;
        status: string;
        priority: Priority;
        scheduled_for: Date | null;
        request_id: string | null;
      }>({
        text: `/* sweep_page */ SELECT d.id, d.notification_id, d.channel, d.status, n.priority, d.scheduled_for, n.request_id
          FROM deliveries d JOIN notifications n ON n.id = d.notification_id
          WHERE ${statusIn(UNFINISHED, 'd.status')}
            AND d.updated_at < now() - make_interval(secs => $1::float8 / 1000) AND d.id > $2
          ORDER BY d.id LIMIT $3`,
        values: [opts.graceMs, after, opts.pageSize ?? 1000],
      });
      if (rows.length === 0) break;
      after = rows.at(-1)!.id;
      result.checked += rows.length;
      const jobs = await jobStates(deps.redis, deps.queues, rows);
      const missing: QueuedDelivery[] = [];
      const replaced: QueuedDelivery[] = [];
      for (const [i, row] of rows.entries()) {
        const job = jobs[i]!;
        const d = {
          id: row.id,
          notificationId: row.notification_id,
          channel: row.channel,
          priority: row.priority,
          notBefore: row.scheduled_for,
          requestId: row.request_id,
        };
        if (!job.exists) missing.push(d);
        else if (job.finished && row.status === 'queued') replaced.push(d);
        else if (job.failedReason !== null && row.status !== 'queued') {
          await finishDelivery(deps.pool, row.id, { status: 'failed', errorCode: 'job_failed', errorMessage: job.failedReason });
          result.failed++;
        }
      }
      if (missing.length > 0) await addDeliveryJobs(deps.queues, deps.retry, missing);
      if (replaced.length > 0) await requeueDeliveries(deps.queues, deps.retry, replaced);
      result.readded += missing.length + replaced.length;
    }
    if (deps.fanout) result.readded += await sweepJobsOf(client, deps.redis, deps.fanout, opts.graceMs, FANOUT_SWEEP, (id) => addFanoutJob(deps.fanout!, id));
    if (deps.events) {
      const events = deps.events;
      result.readded += await sweepJobsOf(client, deps.redis, events, opts.graceMs, EVENTS_SWEEP, (id) => events.add('event', { event_id: id }, { jobId: id }).then(() => {}));
    }
    if (deps.workflows) result.readded += await sweepWorkflowRuns(client, deps.redis, deps.workflows, opts.graceMs);
    if (result.readded > 0 || result.failed > 0) deps.log.warn(result, 'outbox sweep repaired deliveries');
    return result;
  });
}

/** Topic fan-outs still creating. */
const FANOUT_SWEEP = `SELECT id FROM batches WHERE status = 'creating' AND updated_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT 1000`;
/** Status webhook events not sent yet. */
const EVENTS_SWEEP = `SELECT id FROM status_events WHERE status = 'pending' AND updated_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT 1000`;

/**
 * Rows (from `query`) untouched for the grace period whose job (id = row id)
 * is gone or finished without them: added again, like the deliveries.
 */
async function sweepJobsOf(
  client: pg.PoolClient,
  redis: Redis,
  queue: Queue<FanoutJob> | Queue<StatusEventJob>,
  graceMs: number,
  query: string,
  add: (id: string) => Promise<void>,
): Promise<number> {
  const { rows } = await client.query<{ id: string }>(query, [graceMs]);
  let readded = 0;
  for (const { id } of rows) if (await readdUnlessLive(redis, queue, id, () => add(id))) readded++;
  return readded;
}

/** Adds the job again unless one with its id is waiting, delayed or running; a finished one is removed first. */
async function readdUnlessLive(redis: Redis, queue: Queue<FanoutJob> | Queue<StatusEventJob> | Queue<WorkflowStepJob>, id: string, add: () => Promise<unknown>): Promise<boolean> {
  const key = queue.toKey(id);
  const [exists, finishedOn] = await Promise.all([redis.exists(key), redis.hget(key, 'finishedOn')]);
  if (exists && !finishedOn) return false;
  if (exists) await queue.remove(id).catch(() => 0);
  await add();
  return true;
}

/**
 * Running workflow runs whose step was due more than the grace period ago:
 * their job (workflowStepJobId of the row) is gone or finished without moving
 * the run, so it is added again (due at once).
 */
async function sweepWorkflowRuns(client: pg.PoolClient, redis: Redis, queue: Queue<WorkflowStepJob>, graceMs: number): Promise<number> {
  const { rows } = await client.query<{ id: string; step_index: number; next_at: Date; request_id: string | null }>(
    `/* sweep_workflow_runs */ SELECT id, step_index, next_at, request_id FROM workflow_runs
     WHERE status = 'running' AND next_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT 1000`,
    [graceMs],
  );
  let readded = 0;
  for (const row of rows) {
    const add = () => addWorkflowStepJobs(queue, [{ runId: row.id, stepIndex: row.step_index, dueAt: row.next_at, requestId: row.request_id }]);
    if (await readdUnlessLive(redis, queue, workflowStepJobId(row.id, row.step_index, row.next_at), add)) readded++;
  }
  return readded;
}

interface JobState {
  exists: boolean;
  finished: boolean;
  /** Set when BullMQ failed the job for good. */
  failedReason: string | null;
}

/**
 * Whether each delivery's job exists and has finished: one pipelined round
 * trip per channel, since each queue has its own hash tag and Redis Cluster
 * runs a pipeline on one node.
 */
async function jobStates(redis: Redis, queues: ChannelQueues, rows: { id: string; channel: Channel }[]): Promise<JobState[]> {
  const states = new Array<JobState>(rows.length);
  const byChannel = new Map<Channel, number[]>();
  for (const [i, r] of rows.entries()) byChannel.set(r.channel, [...(byChannel.get(r.channel) ?? []), i]);
  await Promise.all(
    [...byChannel].map(async ([channel, indexes]) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) {
        const key = queues[channel].toKey(rows[i]!.id);
        pipeline.exists(key);
        pipeline.hmget(key, 'finishedOn', 'failedReason');
      }
      const replies = (await pipeline.exec()) ?? [];
      for (const [j, i] of indexes.entries()) {
        const exists = replies[2 * j]?.[1] === 1;
        const [finishedOn, failedReason] = (replies[2 * j + 1]?.[1] ?? [null, null]) as (string | null)[];
        states[i] = { exists, finished: Boolean(finishedOn), failedReason: finishedOn && failedReason ? failedReason : null };
      }
    }),
  );
  return states;
}

/** Deletes idempotency keys past their window, a page at a time. */
export async function deleteExpiredIdempotencyKeys(pool: pg.Pool, limit = 10_000): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1)`, [limit]);
  return rowCount ?? 0;
}
