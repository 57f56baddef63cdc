// Workflow runs: triggering (one run per user, with the Idempotency-Key semantics of POST /notifications), reading and cancelling.
// A topic trigger is a batch the fan-out job turns into runs a chunk at a time (see fanout.ts).
import type { Queue } from 'bullmq';
import { recordAudit, type AuditActor } from '../access/audit.js';
import { withTransaction, type Db, type Queryable } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid, newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import { workflowStepJobId, type FanoutJob, type WorkflowStepJob } from '../platform/queues.js';
import { insertBatchOnce, insertWithKey, replayOf, type Idempotency, type Keyed } from '../notifications/accept.js';
import { confirmRecipients, topicRecipientCount, type AudienceConfirmation } from '../notifications/audience-guard.js';
import { requestHash } from '../notifications/idempotency.js';
import { addFanoutJob, addWorkflowStepJobs } from '../outbox/outbox.js';
import type { WorkflowRun, WorkflowRunPage, WorkflowRunSummary, WorkflowTrigger } from '../schemas/workflow-runs.js';
import type { WorkflowDefinition } from './definition.js';
import { getWorkflowVersion } from './definitions.js';
import { cancelRunRow } from './transitions.js';

export interface TriggerDeps {
  db: Db;
  workflows: Queue<WorkflowStepJob>;
  /** Topic fan-outs (needed only to trigger for a topic). */
  fanout?: Queue<FanoutJob> | undefined;
  log: Logger;
  /** The X-Request-Id being served, kept on the runs and their notifications. */
  requestId?: string | null | undefined;
  /** How long an Idempotency-Key is remembered (IDEMPOTENCY_TTL_SECONDS). */
  idempotencyTtlSeconds?: number | undefined;
}

export interface TriggerInput {
  /** Exactly one of userIds and topic. */
  userIds?: string[] | undefined;
  topic?: string | undefined;
  data?: Record<string, unknown> | undefined;
  /** Overrides the digest step's key path. */
  digestKey?: string | undefined;
  /** Retries with the same key (and the same input) answer the first trigger's runs and start nothing. */
  idempotencyKey?: string | undefined;
  /** Set when a recurring schedule fired the trigger. */
  scheduleId?: string | undefined;
  /** A topic trigger's audience guard (FANOUT_CONFIRM_THRESHOLD, `confirm_recipients`), as for topic sends; none when absent (schedules). */
  audience?: AudienceConfirmation | undefined;
}

/** What a topic trigger's batch holds: every chunk of its fan-out makes runs of this, whatever the workflow's current version by then. */
export interface WorkflowBatchRequest {
  workflow: string;
  version: number;
  data: Record<string, unknown>;
  digest_key: string | null;
  schedule_id: string | null;
  idempotency_key: string | null;
  request_id: string | null;
}

/** Idempotency-Keys of triggers are their own scope: the same key on POST /notifications is another request. */
const KEY_SCOPE = 'workflow-trigger:';

/**
 * Starts one run of the workflow's current version per user given (at most
 * MAX_TRIGGER_USERS): the runs, all their steps (pending) and the key's claim
 * commit in one transaction, then each run's first step job is added. A job
 * lost before it is added is re-added by the outbox sweep (the run's next_at
 * is its due time). A topic's subscribers, however many, are reached by a
 * fan-out instead (triggerTopic).
 */
export async function triggerWorkflow(deps: TriggerDeps, appId: string, key: string, input: TriggerInput): Promise<Keyed<WorkflowTrigger>> {
  const idempotency: Idempotency | undefined = input.idempotencyKey
    ? { key: `${KEY_SCOPE}${input.idempotencyKey}`, requestHash: requestHash({ workflow: key, ...input, idempotencyKey: undefined, audience: undefined }) }
    : undefined;
  if (idempotency) {
    const replay = await replayOf<WorkflowTrigger>(deps, appId, idempotency);
    if (replay) return replay;
  }
  const definition = await getWorkflowVersion(deps.db, appId, key);
  if (input.topic !== undefined) return triggerTopic(deps, appId, definition, { ...input, topic: input.topic }, idempotency);
  const triggerId = newId();
  const now = new Date();
  const runs = (input.userIds ?? []).map((userId) => ({ id: newId(), user_id: userId }));
  const response: WorkflowTrigger = { id: triggerId, workflow: key, version: definition.version, topic: null, status: 'created', count: runs.length, runs };
  const write = (claim: Parameters<typeof insertBatchOnce>[3]) =>
    withTransaction(deps.db.pool, (client) =>
      insertBatchOnce(client, appId, triggerId, claim, async () => {
        await insertRuns(client, appId, definition, runOrigin(deps, triggerId, input), runs, now);
      }),
    );
  const result = await insertWithKey(deps, appId, idempotency, response, write);
  if (result.replayed) return result;
  await addFirstStepJobs(deps, runs, now, triggerId);
  return result;
}

/**
 * A topic trigger: the batch (kind `workflow`, status `creating`, holding the
 * trigger) commits with the key's claim, and the fan-out job makes the runs
 * a chunk of subscribers at a time (workflowFanoutStep). Guarded like topic
 * sends: over the threshold it needs `confirm_recipients`.
 */
async function triggerTopic(
  deps: TriggerDeps,
  appId: string,
  definition: WorkflowDefinition,
  input: TriggerInput & { topic: string },
  idempotency: Idempotency | undefined,
): Promise<Keyed<WorkflowTrigger>> {
  if (!deps.fanout) throw new Error('a topic trigger needs the fan-out queue');
  const exists = await deps.db.prisma.topic.findUnique({ where: { appId_key: { appId, key: input.topic } } });
  if (!exists) throw notFound('Topic');
  if (input.audience) confirmRecipients(await topicRecipientCount(deps.db.pool, appId, input.topic), input.audience);
  const batchId = newId();
  const now = new Date();
  const origin = runOrigin(deps, batchId, input);
  const request: WorkflowBatchRequest = {
    workflow: definition.key,
    version: definition.version,
    data: origin.data,
    digest_key: origin.digestKey,
    schedule_id: origin.scheduleId,
    idempotency_key: origin.idempotencyKey,
    request_id: origin.requestId,
  };
  const response: WorkflowTrigger = { id: batchId, workflow: definition.key, version: definition.version, topic: input.topic, status: 'creating', count: 0, runs: [] };
  const write = (claim: Parameters<typeof insertBatchOnce>[3]) =>
    withTransaction(deps.db.pool, (client) =>
      insertBatchOnce(client, appId, batchId, claim, async () => {
        await client.query(`INSERT INTO batches (id, app_id, kind, topic_key, request, status, created_at, updated_at) VALUES ($1, $2, 'workflow', $3, $4, 'creating', $5, $5)`, [
          batchId,
          appId,
          input.topic,
          JSON.stringify(request),
          now,
        ]);
      }),
    );
  const result = await insertWithKey(deps, appId, idempotency, response, write);
  if (result.replayed) return result;
  try {
    await addFanoutJob(deps.fanout, batchId, deps.requestId);
  } catch (err) {
    deps.log.warn({ err, batch_id: batchId }, 'workflow fan-out enqueue failed; the sweeper will re-add it');
  }
  return result;
}

/** Where a trigger's runs come from, stored on each of them. */
export interface RunOrigin {
  batchId: string;
  data: Record<string, unknown>;
  digestKey: string | null;
  scheduleId: string | null;
  idempotencyKey: string | null;
  requestId: string | null;
}

function runOrigin(deps: Pick<TriggerDeps, 'requestId'>, batchId: string, input: TriggerInput): RunOrigin {
  return {
    batchId,
    data: input.data ?? {},
    digestKey: input.digestKey ?? null,
    scheduleId: input.scheduleId ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    requestId: deps.requestId ?? null,
  };
}

/**
 * Writes the runs (at their first step, due now) and all their steps. A user
 * who already has a run of this trigger keeps it (the unique (batch_id,
 * user_id)): a fan-out chunk done twice creates nothing twice. Returns the
 * runs written.
 */
export async function insertRuns(
  client: Queryable,
  appId: string,
  definition: Pick<WorkflowDefinition, 'key' | 'version' | 'steps'>,
  origin: RunOrigin,
  runs: { id: string; user_id: string }[],
  now: Date,
): Promise<{ id: string; user_id: string }[]> {
  const { rows } = await client.query<{ id: string; user_id: string }>(
    `INSERT INTO workflow_runs (id, app_id, workflow_key, workflow_version, user_id, data, status, step_index, next_at, digest_key,
       batch_id, schedule_id, idempotency_key, request_id, created_at, updated_at)
     SELECT id, $3, $4, $5, user_id, $6::jsonb, 'running', 0, $7, $8, $9, $10, $11, $12, $7, $7
     FROM unnest($1::uuid[], $2::text[]) AS t(id, user_id)
     ON CONFLICT (batch_id, user_id) DO NOTHING
     RETURNING id, user_id`,
    [
      runs.map((r) => r.id),
      runs.map((r) => r.user_id),
      appId,
      definition.key,
      definition.version,
      JSON.stringify(origin.data),
      now,
      origin.digestKey,
      origin.batchId,
      origin.scheduleId,
      origin.idempotencyKey,
      origin.requestId,
    ],
  );
  const { steps } = definition;
  await client.query(
    `INSERT INTO workflow_run_steps (run_id, step_index, step_id, type)
     SELECT r.id, s.i, s.step_id, s.type FROM unnest($1::uuid[]) AS r(id) CROSS JOIN unnest($2::int[], $3::text[], $4::text[]) AS s(i, step_id, type)`,
    [rows.map((r) => r.id), steps.map((_, i) => i), steps.map((s) => s.id), steps.map((s) => s.type)],
  );
  return rows;
}

/** Adds each new run's first step job after the commit; a failure here is repaired by the sweeper. */
export async function addFirstStepJobs(deps: Pick<TriggerDeps, 'workflows' | 'log' | 'requestId'>, runs: { id: string }[], now: Date, triggerId: string): Promise<void> {
  try {
    await addWorkflowStepJobs(
      deps.workflows,
      runs.map((r) => ({ runId: r.id, stepIndex: 0, dueAt: now, requestId: deps.requestId })),
    );
  } catch (err) {
    deps.log.warn({ err, trigger_id: triggerId }, 'workflow enqueue failed after commit; the sweeper will re-add the jobs');
  }
}

interface RunRecord {
  id: string;
  workflow_key: string;
  workflow_version: number;
  user_id: string;
  data: Record<string, unknown>;
  status: WorkflowRun['status'];
  step_index: number;
  next_at: Date | null;
  reason: string | null;
  merged_into: string | null;
  digest_key: string | null;
  batch_id: string | null;
  schedule_id: string | null;
  created_at: Date;
  updated_at: Date;
  current_step: string | null;
}

const RUN_COLUMNS = `r.id, r.workflow_key, r.workflow_version, r.user_id, r.data, r.status, r.step_index, r.next_at, r.reason, r.merged_into,
  r.digest_key, r.batch_id, r.schedule_id, r.created_at, r.updated_at,
  CASE WHEN r.status = 'running' THEN (SELECT step_id FROM workflow_run_steps s WHERE s.run_id = r.id AND s.step_index = r.step_index) END AS current_step`;

function summaryView(r: RunRecord): WorkflowRunSummary {
  return {
    id: r.id,
    workflow: r.workflow_key,
    version: r.workflow_version,
    user_id: r.user_id,
    status: r.status,
    current_step: r.current_step,
    next_at: r.next_at?.toISOString() ?? null,
    reason: r.reason,
    merged_into: r.merged_into,
    digest_key: r.digest_key,
    trigger_id: r.batch_id,
    schedule_id: r.schedule_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** A run with each step's state, times and notifications. */
export async function getRun(db: Db, appId: string, id: string): Promise<WorkflowRun> {
  if (!isUuid(id)) throw notFound('Workflow run');
  const { rows } = await db.pool.query<RunRecord>(`SELECT ${RUN_COLUMNS} FROM workflow_runs r WHERE r.id = $1 AND r.app_id = $2`, [id, appId]);
  const run = rows[0];
  if (!run) throw notFound('Workflow run');
  const steps = await db.pool.query<{
    step_index: number;
    step_id: string;
    type: WorkflowRun['steps'][number]['type'];
    status: WorkflowRun['steps'][number]['status'];
    started_at: Date | null;
    finished_at: Date | null;
    notification_ids: string[] | null;
    detail: Record<string, unknown> | null;
  }>('SELECT step_index, step_id, type, status, started_at, finished_at, notification_ids, detail FROM workflow_run_steps WHERE run_id = $1 ORDER BY step_index', [id]);
  return {
    ...summaryView(run),
    data: run.data,
    steps: steps.rows.map((s) => ({
      index: s.step_index,
      id: s.step_id,
      type: s.type,
      status: s.status,
      started_at: s.started_at?.toISOString() ?? null,
      finished_at: s.finished_at?.toISOString() ?? null,
      notification_ids: s.notification_ids ?? [],
      detail: s.detail,
    })),
  };
}

export interface RunListQuery {
  limit: number;
  cursor?: string | undefined;
  status?: WorkflowRun['status'] | undefined;
}

/** A user's runs, or a workflow's, newest first (cursor paging like the other lists). */
export async function listRuns(db: Db, appId: string, of: { userId: string } | { workflowKey: string }, query: RunListQuery): Promise<WorkflowRunPage> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
  if (after === null && query.cursor !== undefined) throw new AppError('invalid_request', 'cursor is not valid');
  if ('workflowKey' in of && !(await db.prisma.workflow.findUnique({ where: { appId_key: { appId, key: of.workflowKey } } }))) throw notFound('Workflow');
  const [column, value] = 'userId' in of ? ['user_id', of.userId] : ['workflow_key', of.workflowKey];
  const { rows } = await db.pool.query<RunRecord>(
    `SELECT ${RUN_COLUMNS} FROM workflow_runs r
     WHERE r.app_id = $1 AND r.${column} = $2 AND ($3::uuid IS NULL OR r.id < $3) AND ($4::"WorkflowRunStatus" IS NULL OR r.status = $4)
     ORDER BY r.id DESC LIMIT $5`,
    [appId, value, after, query.status ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { data: page.map(summaryView), next_cursor: rows.length > query.limit && last ? encodeCursor(last.id) : null };
}

/**
 * Cancels a running run: the step it is at (a delay, a digest window) and the
 * ones after it never run, and its job is removed. A step job already running
 * finishes its step first (it holds the run's row). 409 once the run has ended.
 */
export async function cancelRun(deps: Pick<TriggerDeps, 'db' | 'workflows'>, appId: string, id: string, by?: AuditActor): Promise<WorkflowRun> {
  await getRun(deps.db, appId, id);
  const job = await withTransaction(deps.db.pool, async (client) => {
    const cancelled = await cancelRunRow(client, id, new Date());
    if (cancelled) {
      await recordAudit(client, by, { appId, action: 'workflow_run.cancelled', targetType: 'workflow_run', targetId: id, summary: { step_index: cancelled.stepIndex } });
    }
    return cancelled;
  });
  if (!job) {
    const run = await getRun(deps.db, appId, id);
    throw new AppError('conflict', `The run has already ended (${run.status})`, [{ path: 'status', message: run.status }]);
  }
  // The row is what matters (a job finds the run cancelled and does nothing); removing the job is tidiness.
  await deps.workflows.remove(workflowStepJobId(job.runId, job.stepIndex, job.dueAt)).catch(() => 0);
  return getRun(deps.db, appId, id);
}
