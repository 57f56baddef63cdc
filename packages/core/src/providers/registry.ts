import type { Channel } from '../channels.js';
import { providerNames, type Env } from '../env.js';
import { createConsoleProvider } from './console.js';
import type { Provider } from './provider.js';
import { createSimulatedProvider } from './simulated.js';

/** Every provider, by the name used in `<CHANNEL>_PROVIDERS`. Adding one is a file plus a line here. */
export const PROVIDERS: Record<string, (env: Env) => Provider> = {
  console: () => createConsoleProvider(),
  simulated: (env) =>
    createSimulatedProvider({
      failureRate: env.SIMULATED_FAILURE_RATE,
      failFirst: env.SIMULATED_FAIL_FIRST,
      latencyMs: env.SIMULATED_LATENCY_MS,
      permanent: env.SIMULATED_PERMANENT,
    }),
};

/** The configured providers of a channel, in order. Fails at startup on an unknown or unfit name. */
export function providersFor(env: Env, channel: Channel): Provider[] {
  const names = providerNames(env, channel);
  if (names.length === 0) throw new Error(`No provider configured for channel ${channel}`);
  return names.map((name) => {
    const make = PROVIDERS[name];
    if (!make) throw new Error(`Unknown provider "${name}" for ${channel}; known: ${Object.keys(PROVIDERS).join(', ')}`);
    const provider = make(env);
    if (!provider.channels.includes(channel)) throw new Error(`Provider "${name}" cannot send ${channel}`);
    return provider;
  });
}
