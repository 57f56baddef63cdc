import { AppError, type FanoutJob, type WorkflowStepJob } from '@notify/core/platform';
import { FATAL_FANOUT, fanoutStep, type NotificationDeps } from '@notify/core/notifications';
import { batchKind, FATAL_WORKFLOW_FANOUT, workflowFanoutStep } from '@notify/core/workflows';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';

/**
 * A topic fan-out: creates the topic's notifications (a topic send) or
 * workflow runs (a topic trigger) a chunk at a time until every subscriber
 * has one. Each chunk commits with the batch's cursor, so a retried or
 * stalled job resumes where the last one stopped. A template that cannot
 * render (over the render budget or output caps, or with this data), or a
 * workflow version that is gone, never will: the step marks the batch failed
 * and the job stops for good.
 */
export async function fanout(job: Job<FanoutJob>, deps: NotificationDeps & { workflows?: Queue<WorkflowStepJob> }): Promise<{ steps: number }> {
  let steps = 0;
  const withRequest = { ...deps, requestId: job.data.request_id ?? null };
  const workflow = (await batchKind(deps.db, job.data.batch_id)) === 'workflow';
  const fatal = workflow ? FATAL_WORKFLOW_FANOUT : FATAL_FANOUT;
  const step = () => (workflow ? workflowFanoutStep(withRequest, job.data.batch_id) : fanoutStep(withRequest, job.data.batch_id));
  try {
    while (await step()) {
      steps++;
      await job.updateProgress(steps);
    }
  } catch (err) {
    if (err instanceof AppError && fatal.has(err.code)) {
      const where = err.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
      throw new UnrecoverableError(`${err.code}: ${err.message}${where ? ` (${where})` : ''}`);
    }
    throw err;
  }
  return { steps };
}
