import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS } from '../platform/channels.js';
import { newId } from '../platform/ids.js';
import type { Provider } from './provider.js';
import { ProviderError } from './provider-error.js';

export interface SimulatedOptions {
  /** Probability that any send fails (0..1). */
  failureRate: number;
  /** Fail the first N attempts of every delivery, then succeed. */
  failFirst: number;
  latencyMs: number;
  /** Make failures permanent instead of retryable. */
  permanent: boolean;
  random?: () => number;
}

/** A provider for trying retries and backoff without real providers: fails and lags as configured. */
export function createSimulatedProvider(opts: SimulatedOptions): Provider {
  const random = opts.random ?? Math.random;
  return {
    name: 'simulated',
    channels: CHANNELS,
    async send({ channel }, ctx) {
      if (opts.latencyMs > 0) await sleep(opts.latencyMs);
      if (ctx.attempt <= opts.failFirst || random() < opts.failureRate) {
        throw new ProviderError(`simulated ${opts.permanent ? 'permanent' : 'transient'} failure on ${channel}`, {
          code: opts.permanent ? 'simulated_permanent' : 'simulated_transient',
          retryable: !opts.permanent,
        });
      }
      return { providerMessageId: `simulated-${newId()}` };
    },
  };
}
