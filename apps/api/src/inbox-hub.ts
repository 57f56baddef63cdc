import { INBOX_CHANNEL_PREFIX, type InboxEvent, type Logger, type Redis } from '@notify/core';

type Listener = (event: InboxEvent) => void;

/**
 * Fans new inbox items out to this replica's live streams. Workers publish
 * each new item on Redis (`notify:inbox:<app>:<user>`); every API replica
 * subscribes, on one connection, to the channels of the users it has streams
 * for, so a stream receives items wherever it is connected.
 */
export class InboxHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly open = new Set<() => void>();

  constructor(
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {
    subscriber.on('message', (channel: string, payload: string) => {
      const set = this.listeners.get(channel);
      if (!set) return;
      let event: InboxEvent;
      try {
        event = JSON.parse(payload) as InboxEvent;
      } catch (err) {
        this.log.warn({ err }, 'ignoring a malformed inbox event');
        return;
      }
      for (const listener of set) listener(event);
    });
  }

  /** Calls `listener` for each new item of the user until the returned function is called. */
  async listen(appId: string, userId: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = `${INBOX_CHANNEL_PREFIX}${appId}:${userId}`;
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => {});
      }
    };
  }

  /** Registers a stream's closer so shutdown can end it (open streams would hold the server open). */
  track(close: () => void): () => void {
    this.open.add(close);
    return () => this.open.delete(close);
  }

  /** Ends every open stream (clients reconnect to another replica) and the subscription. */
  async close(): Promise<void> {
    for (const close of [...this.open]) close();
    this.open.clear();
    this.listeners.clear();
    this.subscriber.disconnect();
  }
}
