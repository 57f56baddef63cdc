import {
  claimDelivery,
  finishDelivery,
  markRetrying,
  toProviderError,
  type DeliveryJob,
  type Logger,
  type Pool,
  type Provider,
} from '@notify/core';
import { UnrecoverableError, type Job } from 'bullmq';
import { buildMessage } from '../messages.js';

export interface DeliverDeps {
  pool: Pool;
  provider: Provider;
  log: Logger;
}

export type DeliverResult =
  | { outcome: 'delivered'; provider: string; provider_message_id: string }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'already_finished' };

/**
 * Delivers one job: claim the delivery row (which refuses finished ones), send
 * through the provider, record the outcome. Throwing hands the retry decision
 * to BullMQ: UnrecoverableError stops at once, any other error backs off.
 */
export async function deliver(job: Job<DeliveryJob>, deps: DeliverDeps): Promise<DeliverResult> {
  const { delivery_id: deliveryId, channel } = job.data;
  const log = deps.log.child({ delivery_id: deliveryId, notification_id: job.data.notification_id });
  const claimed = await claimDelivery(deps.pool, deliveryId);
  if (!claimed) return { outcome: 'already_finished' };
  if (claimed.previousStatus === 'sending') log.warn({ attempt: claimed.attempts }, 'resuming a delivery whose worker stopped mid-send');

  const message = buildMessage(channel, claimed);
  if (!message) {
    await finishDelivery(deps.pool, deliveryId, { status: 'skipped', reason: 'no_contact' });
    return { outcome: 'skipped', reason: 'no_contact' };
  }

  const provider = deps.provider;
  try {
    const sent = await provider.send(channel, message, {
      deliveryId,
      notificationId: claimed.notificationId,
      attempt: claimed.attempts,
      log,
    });
    await finishDelivery(deps.pool, deliveryId, {
      status: 'delivered',
      provider: provider.name,
      providerMessageId: sent.providerMessageId,
    });
    return { outcome: 'delivered', provider: provider.name, provider_message_id: sent.providerMessageId };
  } catch (thrown) {
    const err = toProviderError(thrown);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const failure = { provider: provider.name, errorCode: err.code, errorMessage: err.message };
    if (!err.retryable || lastAttempt) {
      await finishDelivery(deps.pool, deliveryId, { status: 'failed', ...failure });
      log.warn({ err, attempt: claimed.attempts }, 'delivery failed');
      throw err.retryable ? err : new UnrecoverableError(`${err.code}: ${err.message}`);
    }
    await markRetrying(deps.pool, deliveryId, failure);
    log.info({ err_code: err.code, attempt: claimed.attempts }, 'delivery attempt failed; will retry');
    throw err;
  }
}
