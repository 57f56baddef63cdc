import { CHANNELS } from '../platform/channels.js';
import { newId } from '../platform/ids.js';
import type { Provider } from './provider.js';

/**
 * The default provider of every channel: logs that it "sent" (ids and sizes
 * only, never content or addresses) and succeeds.
 */
export function createConsoleProvider(): Provider {
  return {
    name: 'console',
    channels: CHANNELS,
    async send({ message }, ctx) {
      const providerMessageId = `console-${newId()}`;
      ctx.log.info({ provider: 'console', provider_message_id: providerMessageId, bytes: JSON.stringify(message).length }, 'delivered (console provider)');
      return { providerMessageId };
    },
  };
}
