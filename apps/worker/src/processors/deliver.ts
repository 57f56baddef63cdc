import {
  claimDelivery,
  finishDelivery,
  markRetrying,
  toProviderError,
  type AttemptRecord,
  type DeliveryJob,
  type Logger,
  type Pool,
  type Provider,
} from '@notify/core';
import { UnrecoverableError, type Job } from 'bullmq';
import { withDbRetry } from '../db-retry.js';
import { buildMessage } from '../messages.js';

export interface DeliverDeps {
  pool: Pool;
  provider: Provider;
  log: Logger;
  /** How long to wait out a database outage before giving up the attempt. */
  dbRetryMs: number;
}

export type DeliverResult =
  | { outcome: 'delivered'; provider: string; provider_message_id: string }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'already_finished' };

/**
 * Delivers one job: claim the delivery row (which refuses finished ones), send
 * through the provider, record the outcome and the attempt. Throwing hands the
 * retry decision to BullMQ: UnrecoverableError stops at once, a retryable
 * ProviderError backs off (or waits its Retry-After).
 */
export async function deliver(job: Job<DeliveryJob>, deps: DeliverDeps): Promise<DeliverResult> {
  const { delivery_id: deliveryId, channel } = job.data;
  const log = deps.log.child({ delivery_id: deliveryId, notification_id: job.data.notification_id });
  const db = <T>(fn: () => Promise<T>) => withDbRetry(fn, deps.dbRetryMs);

  const claimed = await db(() => claimDelivery(deps.pool, deliveryId));
  if (!claimed) return { outcome: 'already_finished' };
  if (claimed.previousStatus === 'sending') {
    log.warn({ attempt: claimed.attempts }, 'resuming a delivery whose worker stopped mid-send: it may be sent twice');
  }

  const message = buildMessage(channel, claimed);
  if (!message) {
    await db(() => finishDelivery(deps.pool, deliveryId, { status: 'skipped', reason: 'no_contact' }));
    return { outcome: 'skipped', reason: 'no_contact' };
  }

  const provider = deps.provider;
  const started = performance.now();
  const attempt = (outcome: AttemptRecord['outcome'], errorCode?: string, errorMessage?: string): AttemptRecord => ({
    attempt: claimed.attempts,
    provider: provider.name,
    outcome,
    errorCode: errorCode ?? null,
    errorMessage: errorMessage ?? null,
    durationMs: Math.round(performance.now() - started),
  });

  let sent;
  try {
    sent = await provider.send(channel, message, {
      deliveryId,
      notificationId: claimed.notificationId,
      attempt: claimed.attempts,
      log,
    });
  } catch (thrown) {
    const err = toProviderError(thrown);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const failure = { provider: provider.name, errorCode: err.code, errorMessage: err.message };
    if (!err.retryable || lastAttempt) {
      const outcome = err.retryable ? 'retryable_error' : 'permanent_error';
      await db(() => finishDelivery(deps.pool, deliveryId, { status: 'failed', ...failure, attempt: attempt(outcome, err.code, err.message) }));
      log.warn({ err_code: err.code, attempt: claimed.attempts, retryable: err.retryable }, 'delivery failed');
      throw err.retryable ? err : new UnrecoverableError(`${err.code}: ${err.message}`);
    }
    await db(() => markRetrying(deps.pool, deliveryId, { ...failure, attempt: attempt('retryable_error', err.code, err.message) }));
    log.info({ err_code: err.code, attempt: claimed.attempts, retry_after_ms: err.retryAfterMs }, 'delivery attempt failed; will retry');
    throw err;
  }
  await db(() =>
    finishDelivery(deps.pool, deliveryId, {
      status: 'delivered',
      provider: provider.name,
      providerMessageId: sent.providerMessageId,
      attempt: attempt('delivered'),
    }),
  );
  return { outcome: 'delivered', provider: provider.name, provider_message_id: sent.providerMessageId };
}
