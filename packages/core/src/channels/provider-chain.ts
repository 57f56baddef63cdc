import type { Channel } from '../platform/channels.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import { SpanKind } from '@opentelemetry/api';
import { ATTR, inSpan } from '../observability/tracing.js';
import type { Envelope, Provider, SendContext, SendResult } from './provider.js';
import { ProviderError, toProviderError } from './provider-error.js';

export type ChainOutcome = { ok: true; provider: string; providerMessageId: string } | { ok: false; provider: string; error: ProviderError };

/**
 * A channel's providers in order (e.g. `EMAIL_PROVIDERS=smtp,console`), each
 * behind its own circuit breaker. A retryable failure moves on to the next
 * provider; a permanent one (the message itself is refused, e.g. an invalid
 * address) stops at once, as another provider would refuse it too.
 */
export class ProviderChain {
  private readonly breakers: Map<string, CircuitBreaker>;

  constructor(
    readonly channel: Channel,
    readonly providers: readonly Provider[],
    breaker: BreakerOptions,
  ) {
    if (providers.length === 0) throw new Error(`No provider configured for ${channel}`);
    this.breakers = new Map(providers.filter((p) => p.circuitBreaker !== false).map((p) => [p.name, new CircuitBreaker(breaker)]));
  }

  async send(envelope: Envelope, ctx: SendContext): Promise<ChainOutcome> {
    const candidates = this.providers.filter((p) => !p.accepts || p.accepts(envelope));
    if (candidates.length === 0) {
      const error = new ProviderError(`No configured ${envelope.channel} provider takes this message`, {
        code: 'no_provider',
        retryable: false,
      });
      return { ok: false, provider: this.providers.map((p) => p.name).join(','), error };
    }
    let last: ChainOutcome | undefined;
    for (const provider of candidates) {
      const breaker = this.breakers.get(provider.name);
      if (breaker && !breaker.tryAcquire()) {
        last ??= {
          ok: false,
          provider: provider.name,
          error: new ProviderError(`${provider.name} is failing; its circuit breaker is open`, {
            code: 'circuit_open',
            retryable: true,
            notAttempted: true,
            retryAfterMs: Math.max(breaker.msUntilTrial(), 100),
          }),
        };
        continue;
      }
      try {
        const sent = await call(provider, envelope, ctx);
        breaker?.success();
        return { ok: true, provider: provider.name, providerMessageId: sent.providerMessageId };
      } catch (thrown) {
        const error = toProviderError(thrown);
        if (!error.retryable) {
          // The provider worked: it judged the message. Not a reason to trip its breaker.
          breaker?.success();
          return { ok: false, provider: provider.name, error };
        }
        breaker?.failure();
        ctx.log.warn({ provider: provider.name, err_code: error.code }, 'provider failed; trying the next one');
        last = { ok: false, provider: provider.name, error };
      }
    }
    return last!;
  }

  /** Each provider's breaker state, for health reporting. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.state]));
  }

  async close(): Promise<void> {
    await Promise.all(this.providers.map((p) => p.close?.()));
  }
}

/** One provider's send; with tracing on, in a span of its own (the delivery attempt's child). */
function call(provider: Provider, envelope: Envelope, ctx: SendContext): Promise<SendResult> {
  if (!ctx.trace) return provider.send(envelope, ctx);
  const attributes = { [ATTR.provider]: provider.name, [ATTR.channel]: envelope.channel, [ATTR.deliveryId]: ctx.deliveryId, [ATTR.notificationId]: ctx.notificationId };
  return inSpan(
    ctx.trace,
    `${envelope.channel} send`,
    { kind: SpanKind.CLIENT, attributes },
    async (span) => {
      const sent = await provider.send(envelope, ctx);
      span.setAttribute(ATTR.outcome, 'delivered');
      return sent;
    },
    (err) => (toProviderError(err).retryable ? 'retryable_error' : 'permanent_error'),
  );
}
