import { type DeliveryJob, type Logger, type Pool, PRIORITY } from '@notify/core/platform';
import { disableWebhook, holdForQuietHours, markRetrying, removeDevices, type AttemptRecord, type ClaimedDelivery } from '@notify/core/deliveries';
import { quietHold } from '@notify/core/audience';
import { recordSuppressions, refusedAddress } from '@notify/core/suppressions';
import type { ChainOutcome, Envelope, ProviderChain, ProviderError, SendContext } from '@notify/core/channels';
import { ATTR, childOf, contextOf, inSpan, SpanKind, type SpanParent, type Telemetry, type Tracer } from '@notify/core/observability';
import { DelayedError, RateLimitError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { withDbRetry } from '../db-retry.js';
import type { DeliveryGroupCommit } from '../delivery-group-commit.js';
import { buildMessages, type MessageDefaults } from '../messages.js';
import type { SendGates } from './send-gates.js';

export interface DeliverDeps {
  pool: Pool;
  /** Claims and outcomes, group-committed with the channel's other jobs. */
  commits: DeliveryGroupCommit;
  chain: ProviderChain;
  log: Logger;
  /** How long to wait out a database outage before giving up the attempt. */
  dbRetryMs: number;
  defaults: MessageDefaults;
  /** Pauses the whole queue (all its workers) for ms: the provider is throttling us. */
  rateLimit(ms: number): Promise<void>;
  telemetry?: Telemetry | undefined;
  /** Pauses and frequency caps; none when absent. */
  gates?: SendGates | undefined;
  /** Set when tracing is on: each attempt gets a span, the child of the job's traceparent. */
  tracer?: Tracer | undefined;
}

export type DeliverResult = { outcome: 'delivered'; provider: string; provider_message_id: string } | { outcome: 'skipped'; reason: string } | { outcome: 'already_finished' };

/**
 * Delivers one job: claim the delivery row (which refuses finished ones), send
 * each message through the channel's provider chain, record the outcome and
 * the attempt. Throwing hands the retry decision to BullMQ: UnrecoverableError
 * stops at once, a retryable ProviderError backs off (or waits its
 * Retry-After), a rate limit pauses the queue and open breakers delay the job,
 * both without spending an attempt.
 */
export function deliver(job: Job<DeliveryJob>, deps: DeliverDeps, token?: string): Promise<DeliverResult> {
  if (!deps.tracer) return attemptDelivery(job, deps, token, undefined);
  const { delivery_id, notification_id, channel, request_id } = job.data;
  const attributes = {
    [ATTR.deliveryId]: delivery_id,
    [ATTR.notificationId]: notification_id,
    [ATTR.channel]: channel,
    [ATTR.attempt]: job.attemptsMade + 1,
    ...(request_id ? { [ATTR.requestId]: request_id } : {}),
  };
  // A job without a traceparent (re-added by the outbox sweeper, or from a topic fan-out) starts a trace of its own.
  const parent = { tracer: deps.tracer, context: contextOf(job.data.traceparent) };
  return inSpan(
    parent,
    `deliver ${channel}`,
    { kind: SpanKind.CONSUMER, attributes },
    async (span) => {
      const result = await attemptDelivery(job, deps, token, childOf(parent, span));
      span.setAttributes({ [ATTR.outcome]: result.outcome, ...(result.outcome === 'delivered' ? { [ATTR.provider]: result.provider } : {}) });
      return result;
    },
    (err) => outcomeOfThrow(err, job),
  );
}

/** What a thrown attempt means for the delivery, for its span. */
function outcomeOfThrow(err: unknown, job: Job<DeliveryJob>): string {
  if (err instanceof DelayedError) return 'delayed';
  if (err instanceof UnrecoverableError) return 'failed';
  if (err instanceof RateLimitError) return 'rate_limited';
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1) ? 'failed' : 'retried';
}

async function attemptDelivery(job: Job<DeliveryJob>, deps: DeliverDeps, token: string | undefined, trace: SpanParent | undefined): Promise<DeliverResult> {
  const { delivery_id: deliveryId, channel } = job.data;
  const log = deps.log.child({
    delivery_id: deliveryId,
    notification_id: job.data.notification_id,
    ...(job.data.request_id ? { request_id: job.data.request_id } : {}),
  });
  const db = <T>(fn: () => Promise<T>) => withDbRetry(fn, deps.dbRetryMs);

  const critical = job.opts.priority === PRIORITY.critical;
  // A paused app, template or category holds the job before the claim, so it spends no attempt.
  const gates = deps.gates;
  const gate = gates ? await db(() => gates.before(job.data.notification_id)) : null;
  if (gate?.kind === 'hold') {
    await job.moveToDelayed(gate.untilMs, token);
    throw new DelayedError();
  }
  const claimed = await deps.commits.claim(deliveryId, critical);
  if (!claimed) return { outcome: 'already_finished' };
  if (claimed.previousStatus === 'sending') {
    log.warn({ attempt: claimed.attempts }, 'resuming a delivery whose worker stopped mid-send: it may be sent twice');
  }

  // Consent as the claim read it now: the user may have opted out, been erased or dropped the contact since the request.
  const envelopes = claimed.refused ? [] : buildMessages(channel, claimed, deps.defaults);
  if (envelopes.length === 0) {
    const reason = claimed.refused ?? 'no_contact';
    await deps.commits.finish(deliveryId, { status: 'skipped', reason }, critical);
    deps.telemetry?.skipped({ appId: claimed.appId, channel, priority: claimed.priority, reason });
    return { outcome: 'skipped', reason };
  }
  const quietUntil = quietHold(new Date(), channel, claimed.priority, claimed.quietHours, claimed.timezone);
  if (quietUntil) {
    // Inside the user's quiet hours where they are now (they may have moved time zone): wait for the end, unsent.
    await db(() => holdForQuietHours(deps.pool, deliveryId, quietUntil));
    await job.moveToDelayed(quietUntil.getTime(), token);
    throw new DelayedError();
  }

  // Counted last, once nothing else stops it: a delivery refused for consent or held for quiet hours uses no slot.
  if (gates && gate && !(await gates.underCap(gate.target, claimed.notificationId))) {
    await deps.commits.finish(deliveryId, { status: 'skipped', reason: 'frequency_capped' }, critical);
    deps.telemetry?.skipped({ appId: claimed.appId, channel, priority: claimed.priority, reason: 'frequency_capped' });
    return { outcome: 'skipped', reason: 'frequency_capped' };
  }

  const started = performance.now();
  const ctx = { deliveryId, notificationId: claimed.notificationId, attempt: claimed.attempts, log, trace };
  const outcomes = await Promise.all(envelopes.map((e) => timedSend(e, ctx, deps)));
  await forgetGoneAddresses(envelopes, outcomes, claimed, deps);

  const sent = outcomes.filter((o): o is Extract<ChainOutcome, { ok: true }> => o.ok);
  const providers = [...new Set(outcomes.map((o) => o.provider))].join(',');
  const attempt = (outcome: AttemptRecord['outcome'], err?: ProviderError): AttemptRecord => ({
    attempt: claimed.attempts,
    provider: providers,
    outcome,
    errorCode: err?.code ?? null,
    errorMessage: err?.message ?? null,
    durationMs: Math.round(performance.now() - started),
  });

  // Delivered when any message went out: for push, at least one device got it.
  if (sent.length > 0) {
    const providerMessageId = sent.map((o) => o.providerMessageId).join(',');
    const provider = [...new Set(sent.map((o) => o.provider))].join(',');
    await deps.commits.finish(deliveryId, { status: 'delivered', provider, providerMessageId, attempt: attempt('delivered') }, critical);
    deps.telemetry?.delivered({ appId: claimed.appId, channel, priority: claimed.priority, provider, acceptedAt: claimed.createdAt });
    // Debug, not info: one line per delivery is too many at production rates.
    log.debug({ provider, attempt: claimed.attempts }, 'delivered');
    return { outcome: 'delivered', provider, provider_message_id: providerMessageId };
  }

  const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  // Retry while any message might still go out; fail when every one was refused for good.
  const err = errors.find((e) => e.retryable) ?? errors[0]!;
  const failure = { provider: providers, errorCode: err.code, errorMessage: err.message };
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

  if (err.notAttempted) {
    // Every provider's breaker is open: wait for the first to let a trial through, spending no attempt.
    await db(() => markRetrying(deps.pool, deliveryId, failure));
    await job.moveToDelayed(Date.now() + (err.retryAfterMs ?? 1000), token);
    throw new DelayedError();
  }
  if (err.retryable && err.rateLimited) {
    await db(() => markRetrying(deps.pool, deliveryId, { ...failure, attempt: attempt('retryable_error', err) }));
    log.info({ err_code: err.code, retry_after_ms: err.retryAfterMs }, 'provider is rate limiting: pausing the queue');
    await deps.rateLimit(err.retryAfterMs ?? 1000);
    throw Worker.RateLimitError();
  }
  if (!err.retryable || lastAttempt) {
    const outcome = err.retryable ? 'retryable_error' : 'permanent_error';
    await deps.commits.finish(deliveryId, { status: 'failed', ...failure, attempt: attempt(outcome, err) }, critical);
    deps.telemetry?.failed({ appId: claimed.appId, channel, priority: claimed.priority, provider: providers, errorCode: err.code, retryable: err.retryable });
    log.warn({ err_code: err.code, attempt: claimed.attempts, retryable: err.retryable }, 'delivery failed');
    throw err.retryable ? err : new UnrecoverableError(`${err.code}: ${err.message}`);
  }
  await db(() => markRetrying(deps.pool, deliveryId, { ...failure, attempt: attempt('retryable_error', err) }));
  deps.telemetry?.retried({ channel, provider: providers });
  log.info({ err_code: err.code, attempt: claimed.attempts, retry_after_ms: err.retryAfterMs }, 'delivery attempt failed; will retry');
  throw err;
}

/** One message through the chain, its provider's answer time counted (none when every breaker was open: no call). */
async function timedSend(envelope: Envelope, ctx: SendContext, deps: DeliverDeps): Promise<ChainOutcome> {
  const started = performance.now();
  const o = await deps.chain.send(envelope, ctx);
  if (!o.ok && o.error.notAttempted) return o;
  const outcome = o.ok ? 'delivered' : o.error.retryable ? 'retryable_error' : 'permanent_error';
  deps.telemetry?.providerCall(envelope.channel, o.provider, outcome, (performance.now() - started) / 1000);
  return o;
}

/**
 * Addresses refused for good are suppressed (a STOP also opts the user out
 * of SMS); push devices reported gone are removed; a webhook endpoint that
 * answered 410 is disabled.
 */
async function forgetGoneAddresses(envelopes: Envelope[], outcomes: ChainOutcome[], claimed: ClaimedDelivery, deps: DeliverDeps) {
  const failed = envelopes.flatMap((envelope, i) => {
    const o = outcomes[i]!;
    return o.ok ? [] : [{ envelope, error: o.error }];
  });
  const suppressed = failed.flatMap(({ envelope, error }) => {
    const refused = refusedAddress(envelope, error);
    return refused ? [{ ...refused, appId: claimed.appId, userId: claimed.userId, errorCode: error.code, deliveryId: claimed.id }] : [];
  });
  const gone = failed.filter((f) => f.error.gone).map((f) => f.envelope);
  if (suppressed.length === 0 && gone.length === 0) return;
  await withDbRetry(() => recordSuppressions(deps.pool, suppressed), deps.dbRetryMs);
  const devices = gone.flatMap((e) => (e.channel === 'push' ? [e.message.device.id] : []));
  await withDbRetry(() => removeDevices(deps.pool, devices), deps.dbRetryMs);
  if (gone.some((e) => e.channel === 'webhook')) {
    await withDbRetry(() => disableWebhook(deps.pool, claimed.appId, claimed.userId), deps.dbRetryMs);
  }
  deps.log.info(
    { delivery_id: claimed.id, removed_devices: devices.length, suppressed: suppressed.map((s) => s.reason) },
    'forgot or suppressed addresses the provider refused for good',
  );
}
