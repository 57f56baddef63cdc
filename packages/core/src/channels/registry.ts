import type { Channel } from '../platform/channels.js';
import { providerNames } from '../platform/env.js';
import { createConsoleProvider } from './console.js';
import { createInboxProvider } from './inbox.js';
import type { Provider, ProviderDeps } from './provider.js';
import { ProviderChain } from './provider-chain.js';
import { createSimulatedProvider } from './simulated.js';
import { webhookProviderFromEnv } from './webhook.js';
import { fcmProviderFromEnv } from './fcm.js';
import { webPushProviderFromEnv } from './webpush.js';
import { smtpProviderFromEnv } from './smtp.js';
import { twilioProviderFromEnv } from './twilio.js';

/** Every provider, by the name used in `<CHANNEL>_PROVIDERS`. Adding one is a file plus a line here. */
export const PROVIDERS: Record<string, (deps: ProviderDeps) => Provider> = {
  console: () => createConsoleProvider(),
  simulated: ({ env }) =>
    createSimulatedProvider({
      failureRate: env.SIMULATED_FAILURE_RATE,
      failFirst: env.SIMULATED_FAIL_FIRST,
      latencyMs: env.SIMULATED_LATENCY_MS,
      permanent: env.SIMULATED_PERMANENT,
    }),
  inbox: ({ pool, redis, env }) => createInboxProvider({ pool, redis, prefix: env.QUEUE_PREFIX }),
  smtp: ({ env }) => smtpProviderFromEnv(env),
  twilio: ({ env }) => twilioProviderFromEnv(env),
  webhook: ({ env }) => webhookProviderFromEnv(env),
  webpush: ({ env }) => webPushProviderFromEnv(env),
  fcm: ({ env }) => fcmProviderFromEnv(env),
};

/** The configured providers of a channel, in order. Fails at startup on an unknown or unfit name. */
export function providersFor(deps: ProviderDeps, channel: Channel): Provider[] {
  const names = providerNames(deps.env, channel);
  if (names.length === 0) throw new Error(`No provider configured for channel ${channel}`);
  return names.map((name) => {
    const make = PROVIDERS[name];
    if (!make) throw new Error(`Unknown provider "${name}" for ${channel}; known: ${Object.keys(PROVIDERS).join(', ')}`);
    const provider = make(deps);
    if (!provider.channels.includes(channel)) throw new Error(`Provider "${name}" cannot send ${channel}`);
    return provider;
  });
}

/** The channel's failover chain, with breakers from BREAKER_* settings. */
export function providerChainFor(deps: ProviderDeps, channel: Channel): ProviderChain {
  return new ProviderChain(channel, providersFor(deps, channel), {
    failureThreshold: deps.env.BREAKER_FAILURE_THRESHOLD,
    cooldownMs: deps.env.BREAKER_COOLDOWN_MS,
  });
}
