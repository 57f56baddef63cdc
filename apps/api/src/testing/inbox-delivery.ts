import { createInboxProvider } from '@notify/core/channels';
import { newId } from '@notify/core/platform';
import type { TestEnv } from '@notify/core/testing';

/** What an in-app message carries besides its body; defaults: title 'Hi', data { k: 1 }. */
export interface InboxContent {
  title?: string | null;
  data?: Record<string, unknown> | null;
  link?: string | null;
  senderId?: string | null;
}

/**
 * The worker side of the inbox, for API tests: delivers an in-app message as
 * the inbox provider does (stores the item, publishes it on Redis under
 * `prefix`) and answers the item's id.
 */
export function inboxDeliverer(t: TestEnv, prefix = t.env.QUEUE_PREFIX): (userId: string, body: string, content?: InboxContent) => Promise<string> {
  const provider = createInboxProvider({ pool: t.db.pool, redis: t.workerRedis, prefix });
  return async (userId, body, content = {}) => {
    const notificationId = newId();
    const sent = await provider.send(
      { channel: 'in_app', message: { appId: t.appId, userId, notificationId, title: 'Hi', body, data: { k: 1 }, ...content } },
      { deliveryId: newId(), notificationId, attempt: 1, log: t.log },
    );
    return sent.providerMessageId;
  };
}
