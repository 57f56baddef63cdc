import { AppError, ScheduleJob } from '@notify/core/platform';
import { fireSchedule, type FireDeps, type FireOutcome } from '@notify/core/schedules';
import { UnrecoverableError, type Job } from 'bullmq';

/** Answers that a retry can change: a keyed request still in flight, PostgreSQL or Redis away. */
const RETRYABLE = new Set(['conflict', 'unavailable']);

/**
 * One occurrence of a schedule. The job scheduler made this job for the
 * occurrence `prevMillis`: that time, not when a worker got to it, names the
 * occurrence, so a job taken late (no worker was running) still sends that
 * one occurrence once. A request the API would refuse (the topic or template
 * is gone, the content no longer renders) never succeeds: no retries.
 */
export async function fireScheduleJob(job: Job<ScheduleJob>, deps: FireDeps): Promise<FireOutcome> {
  const { schedule_id } = ScheduleJob.parse(job.data);
  const occurrence = new Date(job.opts.prevMillis ?? job.timestamp);
  try {
    return await fireSchedule(deps, schedule_id, occurrence);
  } catch (err) {
    if (err instanceof AppError && !RETRYABLE.has(err.code)) throw new UnrecoverableError(`${err.code}: ${err.message}`);
    throw err;
  }
}
