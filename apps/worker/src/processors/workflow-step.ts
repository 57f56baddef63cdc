import type { WorkflowStepJob } from '@notify/core/platform';
import { runStep, type WorkflowDeps } from '@notify/core/workflows';
import { DelayedError, type Job } from 'bullmq';

/**
 * One step of a workflow run (see runStep): done and moved on in one
 * transaction, so a retried, stalled or duplicate job changes nothing twice.
 * A job that comes back before its step is due (a clock ahead of the one
 * that scheduled it) goes back to the delayed set until then.
 */
export async function workflowStep(job: Job<WorkflowStepJob>, deps: WorkflowDeps, token?: string): Promise<{ outcome: string; next_step?: number | undefined }> {
  const result = await runStep({ ...deps, requestId: job.data.request_id ?? null }, job.data);
  if (result.outcome === 'early') {
    await job.moveToDelayed(result.dueAt.getTime(), token);
    throw new DelayedError();
  }
  return result.outcome === 'done' ? { outcome: 'done', next_step: result.next?.stepIndex } : { outcome: result.outcome };
}
