// The run engine: a step job does its run's current step and moves the run on, in one transaction that holds the run's row.
import type { Queue } from 'bullmq';
import { withTransaction } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import type { WorkflowStepJob } from '../platform/queues.js';
import { enqueueAfterCommit, insertPlanned, prepareNotifications, resolveRequest, type NotificationDeps } from '../notifications/accept.js';
import type { PlannedNotification } from '../notifications/plan.js';
import type { NotificationSpec } from '../notifications/spec.js';
import { addWorkflowStepJobs } from '../outbox/outbox.js';
import type { BranchStep, SendStep } from '../schemas/workflows.js';
import { fieldHolds, stepHolds } from './conditions.js';
import { branchTarget } from './definition.js';
import { getWorkflowVersion } from './definitions.js';
import { closeDigest, reachDigest } from './digest.js';
import { waitEnd } from './timing.js';
import { advance, endRun, lockRun, stepNotifications, stepStatus, wait, type DueStep, type StepContext } from './transitions.js';

/** What running steps needs: accepting notifications, and the queue of the next steps. */
export interface WorkflowDeps extends NotificationDeps {
  workflows: Queue<WorkflowStepJob>;
}

export type StepResult =
  /** The run is not at this step any more (a retried or duplicate job), or it was cancelled: nothing done. */
  | { outcome: 'stale' }
  /** The step is not due yet (a job that came back early): run it again then. */
  | { outcome: 'early'; dueAt: Date }
  | { outcome: 'done'; next: DueStep | null };

interface Done {
  next: DueStep | null;
  /** Notifications a send step wrote, whose delivery jobs are added after the commit. */
  planned?: PlannedNotification[];
}

/**
 * Does the job's step. Under at-least-once delivery a job may run twice or
 * after its run moved on: the run's row lock and its step_index make the
 * second one a no-op, and everything a step writes (its notifications
 * included) commits with the move to the next step.
 */
export async function runStep(deps: WorkflowDeps, job: WorkflowStepJob): Promise<StepResult> {
  // Read before the transaction: what the step needs from the pool (the definition, a send step's template) must not be
  // fetched while this job holds a connection in a transaction, or jobs holding every connection would wait on each other.
  const { rows } = await deps.db.pool.query<{
    app_id: string;
    workflow_key: string;
    workflow_version: number;
    status: string;
    step_index: number;
    data: Record<string, unknown>;
    request_id: string | null;
  }>('SELECT app_id, workflow_key, workflow_version, status, step_index, data, request_id FROM workflow_runs WHERE id = $1', [job.run_id]);
  const seen = rows[0];
  if (seen?.status !== 'running' || seen.step_index !== job.step_index) return { outcome: 'stale' };
  const definition = await getWorkflowVersion(deps.db, seen.app_id, seen.workflow_key, seen.workflow_version);
  const step = definition.steps[job.step_index];
  // A send step's data is final once the run is at it (a digest adds events only while the run waits at the digest step).
  const spec = step?.type === 'send' ? await sendSpec(deps, seen, step) : null;
  const result = await withTransaction(deps.db.pool, async (client): Promise<StepResult | Done> => {
    const run = await lockRun(client, job.run_id);
    if (run?.status !== 'running' || run.step_index !== job.step_index) return { outcome: 'stale' };
    const now = new Date();
    if (run.next_at && run.next_at > now) return { outcome: 'early', dueAt: run.next_at };
    const c: StepContext = { client, run, steps: definition.steps, index: run.step_index, now };
    if (!step) return { next: await advance(c, { status: 'done' }, definition.steps.length) };
    switch (step.type) {
      case 'send':
        return send(c, step, spec!);
      case 'delay':
        if ((await stepStatus(c)) === 'waiting') return { next: await advance(c, { status: 'done' }, c.index + 1) };
        return { next: await delayUntil(c, waitEnd(now, step, await timeZoneOf(c))) };
      case 'digest':
        if ((await stepStatus(c)) === 'waiting') return { next: await closeDigest(c) };
        return { next: await reachDigest(c, step, await timeZoneOf(c)) };
      case 'branch':
        return { next: await branch(c, step) };
      default: {
        const unknown: never = step;
        throw new Error(`unknown step type ${JSON.stringify(unknown)}`);
      }
    }
  });
  if ('outcome' in result) return result;
  if (result.planned) await enqueueAfterCommit(deps, result.planned);
  if (result.next) {
    // The run's row says which job must exist: a failure here is repaired by the sweeper.
    await addWorkflowStepJobs(deps.workflows, [result.next]).catch((err: unknown) =>
      deps.log.warn({ err, run_id: job.run_id }, 'workflow step enqueue failed; the sweeper will re-add it'),
    );
  }
  return { outcome: 'done', next: result.next };
}

/** A delay begins: the step shows until when (the run's next_at says the same). */
const delayUntil = (c: StepContext, until: Date) => wait(c, until, { until: until.toISOString() });

async function timeZoneOf(c: StepContext): Promise<string | null> {
  const { rows } = await c.client.query<{ timezone: string | null }>('SELECT timezone FROM users WHERE app_id = $1 AND id = $2', [c.run.app_id, c.run.user_id]);
  return rows[0]?.timezone ?? null;
}

/** A send step's request resolved (template loaded, category checked), or the error that will fail the run. */
async function sendSpec(
  deps: WorkflowDeps,
  run: { app_id: string; data: Record<string, unknown>; request_id: string | null },
  step: SendStep,
): Promise<NotificationSpec | AppError> {
  try {
    return await resolveRequest({ ...deps, requestId: run.request_id }, run.app_id, {
      template: step.template,
      message: step.message,
      channels: step.channels,
      priority: step.priority ?? 'normal',
      category: step.category,
      subject: step.subject,
      data: run.data,
    });
  } catch (err) {
    if (err instanceof AppError && PERMANENT.has(err.code)) return err;
    throw err;
  }
}

/**
 * A send step: an ordinary notification through the accept path (so
 * preferences, quiet hours, suppression, consent and caps apply), with the
 * run's data (and a digest's `events`) as template data, written in the step's
 * transaction. A step that can never succeed (its template was deleted or
 * cannot render this data) fails the run rather than retrying for ever.
 */
async function send(c: StepContext, step: SendStep, spec: NotificationSpec | AppError): Promise<Done> {
  let planned: PlannedNotification[];
  try {
    if (spec instanceof AppError) throw spec;
    const prepared = await prepareNotifications(c.client, spec, [{ userId: c.run.user_id, path: '' }]);
    if (prepared.failures[0]) throw prepared.failures[0];
    planned = prepared.planned;
  } catch (err) {
    if (!(err instanceof AppError) || !PERMANENT.has(err.code)) throw err;
    const error = { code: err.code, message: err.message, details: err.details };
    return { next: await endRun(c, 'failed', { status: 'failed', detail: { error } }, `step ${step.id}: ${err.code}: ${err.message}`) };
  }
  await insertPlanned(c.client, planned);
  const next = await advance(c, { status: 'done', notificationIds: planned.map((n) => n.id) }, c.index + 1);
  return { next, planned };
}

/** Errors a send step gets again however often it is retried (the others, such as a database away, are retried). */
const PERMANENT: ReadonlySet<string> = new Set(['not_found', 'validation_failed', 'template_too_expensive', 'template_output_too_large']);

/** A branch: goes to `then` when its condition holds, else to `else` (the end by default). */
async function branch(c: StepContext, step: BranchStep): Promise<DueStep | null> {
  const condition = step.if;
  let holds: boolean;
  if ('step' in condition) {
    const looked = c.steps.findIndex((s) => s.id === condition.step);
    holds = await stepHolds(c.client, looked === -1 ? [] : await stepNotifications(c, looked), condition);
  } else {
    holds = await fieldHolds(c.client, { appId: c.run.app_id, userId: c.run.user_id, data: c.run.data }, condition);
  }
  const to = holds ? branchTarget(c.steps, step, 'then', c.index + 1) : branchTarget(c.steps, step, 'else', c.steps.length);
  const went = c.steps[to]?.id ?? 'end';
  const reason = to >= c.steps.length && c.index + 1 < c.steps.length ? `branch ${step.id}: condition ${holds ? 'held' : 'did not hold'}, went to end` : null;
  return advance(c, { status: 'done', detail: { condition: holds, went } }, to, reason);
}
