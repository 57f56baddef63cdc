import { AppError, type FanoutJob } from '@notify/core/platform';
import { FATAL_FANOUT, fanoutStep, type NotificationDeps } from '@notify/core/notifications';
import { UnrecoverableError, type Job } from 'bullmq';

/**
 * A topic fan-out: creates the topic's notifications a chunk at a time until
 * every subscriber has one. Each chunk commits with the batch's cursor, so a
 * retried or stalled job resumes where the last one stopped. A template that
 * cannot render (over the render budget or output caps, or with this data)
 * never will: fanoutStep marks the batch failed and the job stops for good.
 */
export async function fanout(job: Job<FanoutJob>, deps: NotificationDeps): Promise<{ steps: number }> {
  let steps = 0;
  const withRequest = { ...deps, requestId: job.data.request_id ?? null };
  try {
    while (await fanoutStep(withRequest, job.data.batch_id)) {
      steps++;
      await job.updateProgress(steps);
    }
  } catch (err) {
    if (err instanceof AppError && FATAL_FANOUT.has(err.code)) {
      const where = err.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
      throw new UnrecoverableError(`${err.code}: ${err.message}${where ? ` (${where})` : ''}`);
    }
    throw err;
  }
  return { steps };
}
