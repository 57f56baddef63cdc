// The run state machine, in one place: every write to workflow_runs and workflow_run_steps after a trigger goes through here.
// A run sits at one step (step_index) until its job does that step; the step's outcome and the move to the next step commit
// together, under the run's row lock, so a job retried after a crash either finds the work done or does it once.
import type { PoolClient } from 'pg';
import type { WorkflowStep } from './definition.js';

export interface RunRow {
  id: string;
  app_id: string;
  workflow_key: string;
  workflow_version: number;
  user_id: string;
  data: Record<string, unknown>;
  status: string;
  step_index: number;
  next_at: Date | null;
  digest_key: string | null;
  request_id: string | null;
}

/** Where a run goes next: the step its job runs and when it is due (the job's id follows from both). */
export interface DueStep {
  runId: string;
  stepIndex: number;
  dueAt: Date;
  requestId?: string | null | undefined;
}

/** One step being done: the run (locked), its definition and the moment the step counts as done. */
export interface StepContext {
  client: PoolClient;
  run: RunRow;
  steps: readonly WorkflowStep[];
  index: number;
  now: Date;
}

/** The run, locked until the transaction ends; null when it does not exist. */
export async function lockRun(client: PoolClient, runId: string): Promise<RunRow | null> {
  const { rows } = await client.query<RunRow>(
    `SELECT id, app_id, workflow_key, workflow_version, user_id, data, status, step_index, next_at, digest_key, request_id
     FROM workflow_runs WHERE id = $1 FOR UPDATE`,
    [runId],
  );
  return rows[0] ?? null;
}

/** The state of the run's current step: pending (not begun) or waiting (a delay or digest window is running). */
export async function stepStatus(c: StepContext): Promise<string> {
  const { rows } = await c.client.query<{ status: string }>('SELECT status FROM workflow_run_steps WHERE run_id = $1 AND step_index = $2', [c.run.id, c.index]);
  return rows[0]?.status ?? 'pending';
}

/** The notifications an earlier step created. */
export async function stepNotifications(c: StepContext, index: number): Promise<string[]> {
  const { rows } = await c.client.query<{ ids: string[] }>('SELECT notification_ids AS ids FROM workflow_run_steps WHERE run_id = $1 AND step_index = $2', [c.run.id, index]);
  return rows[0]?.ids ?? [];
}

export interface StepOutcome {
  status: 'done' | 'failed';
  detail?: Record<string, unknown> | undefined;
  notificationIds?: string[] | undefined;
}

async function finishStep(c: StepContext, outcome: StepOutcome): Promise<void> {
  await c.client.query(
    `UPDATE workflow_run_steps SET status = $3, started_at = COALESCE(started_at, $4), finished_at = $4,
       detail = COALESCE(detail, '{}'::jsonb) || COALESCE($5::jsonb, '{}'::jsonb), notification_ids = COALESCE($6::uuid[], notification_ids)
     WHERE run_id = $1 AND step_index = $2`,
    [c.run.id, c.index, outcome.status, c.now, outcome.detail ? JSON.stringify(outcome.detail) : null, outcome.notificationIds ?? null],
  );
}

/** Steps after the current one and before `to` that will never run (a branch jumped over them, or the run ended). */
async function skipUntil(c: StepContext, to: number, status: 'skipped' | 'cancelled' = 'skipped'): Promise<void> {
  await c.client.query(
    `UPDATE workflow_run_steps SET status = $4, finished_at = $5 WHERE run_id = $1 AND step_index > $2 AND step_index < $3 AND status IN ('pending', 'waiting')`,
    [c.run.id, c.index, to, status, c.now],
  );
}

/**
 * Ends the current step and moves the run to step `to` (due now), or, past
 * the last step, completes it (`reason` says why it ended early, as after a
 * branch to `end`). Answers the next job, or null when the run is over.
 */
export async function advance(c: StepContext, outcome: StepOutcome, to: number, reason: string | null = null): Promise<DueStep | null> {
  await finishStep(c, outcome);
  await skipUntil(c, to);
  if (to >= c.steps.length) {
    await c.client.query(`UPDATE workflow_runs SET status = 'completed', step_index = $2, next_at = NULL, reason = $3, updated_at = $4 WHERE id = $1`, [
      c.run.id,
      c.steps.length,
      reason,
      c.now,
    ]);
    return null;
  }
  await c.client.query('UPDATE workflow_runs SET step_index = $2, next_at = $3, updated_at = $3 WHERE id = $1', [c.run.id, to, c.now]);
  return { runId: c.run.id, stepIndex: to, dueAt: c.now, requestId: c.run.request_id };
}

/** The current step begins waiting (a delay, a digest window) until `until`; its job comes back then. */
export async function wait(c: StepContext, until: Date, detail: Record<string, unknown>): Promise<DueStep> {
  await c.client.query(`UPDATE workflow_run_steps SET status = 'waiting', started_at = $3, detail = $4 WHERE run_id = $1 AND step_index = $2`, [
    c.run.id,
    c.index,
    c.now,
    JSON.stringify(detail),
  ]);
  await c.client.query('UPDATE workflow_runs SET next_at = $2, updated_at = $3 WHERE id = $1', [c.run.id, until, c.now]);
  return { runId: c.run.id, stepIndex: c.index, dueAt: until, requestId: c.run.request_id };
}

/** The run ends at this step: `failed` (the step cannot be done: its template is gone, its data cannot render) or `digested` (merged into another run's digest). */
export async function endRun(c: StepContext, status: 'failed' | 'digested', outcome: StepOutcome, reason: string, mergedInto: string | null = null): Promise<null> {
  await finishStep(c, outcome);
  await skipUntil(c, c.steps.length);
  await c.client.query(`UPDATE workflow_runs SET status = $2, next_at = NULL, reason = $3, merged_into = $4, updated_at = $5 WHERE id = $1`, [
    c.run.id,
    status,
    reason,
    mergedInto,
    c.now,
  ]);
  return null;
}

/**
 * Cancels a running run: its current and later steps become `cancelled` and
 * it has no next job. Answers the job it had (to remove), or null when the
 * run was not running (the caller answers 409).
 */
export async function cancelRunRow(client: PoolClient, runId: string, now: Date): Promise<DueStep | null> {
  const run = await lockRun(client, runId);
  if (run?.status !== 'running') return null;
  await client.query(`UPDATE workflow_run_steps SET status = 'cancelled', finished_at = $2 WHERE run_id = $1 AND status IN ('pending', 'waiting')`, [runId, now]);
  await client.query(`UPDATE workflow_runs SET status = 'cancelled', reason = 'cancelled', next_at = NULL, updated_at = $2 WHERE id = $1`, [runId, now]);
  return { runId, stepIndex: run.step_index, dueAt: run.next_at ?? now };
}
