import { fanoutStep, type FanoutJob, type NotificationDeps } from '@notify/core';
import type { Job } from 'bullmq';

/**
 * A topic fan-out: creates the topic's notifications a chunk at a time until
 * every subscriber has one. Each chunk commits with the batch's cursor, so a
 * retried or stalled job resumes where the last one stopped.
 */
export async function fanout(job: Job<FanoutJob>, deps: NotificationDeps): Promise<{ steps: number }> {
  let steps = 0;
  const withRequest = { ...deps, requestId: job.data.request_id ?? null };
  while (await fanoutStep(withRequest, job.data.batch_id)) {
    steps++;
    await job.updateProgress(steps);
  }
  return { steps };
}
