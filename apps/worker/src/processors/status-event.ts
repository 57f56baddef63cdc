import type { Db, Logger, StatusEventJob } from '@notify/core/platform';
import { sendStatusEvent } from '@notify/core/status-webhooks';
import type { Provider } from '@notify/core/channels';
import type { Job } from 'bullmq';

/** Sends one status event to the app's endpoint; a retryable failure backs off (8 attempts over about 21 minutes). */
export async function deliverStatusEvent(job: Job<StatusEventJob>, deps: { db: Db; webhook: Provider; log: Logger }): Promise<{ outcome: string }> {
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const log = deps.log.child({ event_id: job.data.event_id });
  const result = await sendStatusEvent(deps.db, deps.webhook, job.data.event_id, lastAttempt, log);
  if (result.outcome === 'retry') throw new Error(`${result.code}: ${result.message}`);
  if (result.outcome === 'failed') log.warn({ err_code: result.code }, 'status event could not be delivered');
  return { outcome: result.outcome };
}
