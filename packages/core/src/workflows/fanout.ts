// A topic trigger's fan-out: the batch's subscribers, a chunk at a time, each made a run as user_ids triggers make them.
import type { Queue } from 'bullmq';
import { withTransaction, type Db } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { WorkflowStepJob } from '../platform/queues.js';
import { FANOUT_CHUNK } from '../notifications/batches.js';
import { getWorkflowVersion } from './definitions.js';
import { addFirstStepJobs, insertRuns, type WorkflowBatchRequest } from './runs.js';

export interface WorkflowFanoutDeps {
  db: Db;
  /** Where each chunk's first step jobs go; without it the outbox sweep adds them (the runs are due now). */
  workflows?: Queue<WorkflowStepJob> | undefined;
  log: Logger;
  requestId?: string | null | undefined;
}

/** What a batch fans out into: notifications (`topic`) or workflow runs (`workflow`); null if there is no such batch. */
export async function batchKind(db: Db, batchId: string): Promise<string | null> {
  const { rows } = await db.pool.query<{ kind: string }>('SELECT kind FROM batches WHERE id = $1', [batchId]);
  return rows[0]?.kind ?? null;
}

/**
 * One step of a workflow topic fan-out: the next chunk of subscribers after
 * the batch's cursor made runs of the pinned workflow version, in the
 * transaction that moves the cursor. A chunk redone (its cursor lost) makes
 * no second run for a user: insertRuns keeps one run per (batch, user).
 * Returns false when the fan-out is done; a workflow version gone since the
 * trigger fails the batch (not_found, never retried).
 */
export async function workflowFanoutStep(deps: WorkflowFanoutDeps, batchId: string): Promise<boolean> {
  const chunk = await workflowFanoutChunk(deps, batchId).catch(async (err: unknown) => {
    // After the rollback: the batch ends failed and the job stops for good (FATAL_WORKFLOW_FANOUT).
    if (err instanceof AppError && FATAL_WORKFLOW_FANOUT.has(err.code)) {
      await deps.db.pool.query(`UPDATE batches SET status = 'failed', updated_at = now() WHERE id = $1 AND status = 'creating'`, [batchId]);
      deps.log.warn({ batch_id: batchId, code: err.code }, 'workflow fan-out failed: its workflow version is gone');
    }
    throw err;
  });
  if (!chunk) return false;
  if (deps.workflows) await addFirstStepJobs({ workflows: deps.workflows, log: deps.log, requestId: deps.requestId }, chunk.runs, chunk.now, batchId);
  return true;
}

/** Errors that end a workflow fan-out (the batch becomes `failed`) instead of being retried. */
export const FATAL_WORKFLOW_FANOUT: ReadonlySet<string> = new Set(['not_found']);

async function workflowFanoutChunk(deps: WorkflowFanoutDeps, batchId: string) {
  // The trigger never changes: its definition is read before the transaction, which then holds one connection only.
  const { rows: found } = await deps.db.pool.query<{ app_id: string; request: WorkflowBatchRequest }>('SELECT app_id, request FROM batches WHERE id = $1', [batchId]);
  const trigger = found[0];
  if (!trigger) return null;
  const { request } = trigger;
  const definition = await getWorkflowVersion(deps.db, trigger.app_id, request.workflow, request.version);
  return withTransaction(deps.db.pool, async (client) => {
    // Checked before every chunk, under the row lock: a batch no longer creating stops here.
    const { rows } = await client.query<{ app_id: string; topic_key: string; status: string; cursor: string | null }>(
      'SELECT app_id, topic_key, status, cursor FROM batches WHERE id = $1 FOR UPDATE',
      [batchId],
    );
    const batch = rows[0];
    if (batch?.status !== 'creating') return null;
    const { rows: subscribers } = await client.query<{ user_id: string }>(
      'SELECT user_id FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2 AND user_id > $3 ORDER BY user_id LIMIT $4',
      [batch.app_id, batch.topic_key, batch.cursor ?? '', FANOUT_CHUNK],
    );
    if (subscribers.length === 0) {
      await client.query(`UPDATE batches SET status = 'created', updated_at = now() WHERE id = $1`, [batchId]);
      return null;
    }
    const now = new Date();
    const origin = {
      batchId,
      data: request.data,
      digestKey: request.digest_key,
      scheduleId: request.schedule_id,
      idempotencyKey: request.idempotency_key,
      requestId: request.request_id,
    };
    const runs = await insertRuns(
      client,
      batch.app_id,
      definition,
      origin,
      subscribers.map((s) => ({ id: newId(), user_id: s.user_id })),
      now,
    );
    await client.query('UPDATE batches SET cursor = $2, created = created + $3, updated_at = now() WHERE id = $1', [batchId, subscribers.at(-1)!.user_id, runs.length]);
    return { runs, now };
  });
}
