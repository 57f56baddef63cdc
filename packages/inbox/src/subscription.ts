import { SeenIds } from './seen-ids.js';
import type { InboxItem, StreamState } from './types.js';

/** EventSource.CLOSED: the browser gave up on this connection (an answer other than 200, such as a 401 for an expired token). */
const CLOSED = 2;
const REOPEN_BASE_MS = 1_000;
const REOPEN_MAX_MS = 30_000;

/** The pause before reopening a refused stream: 1 s, 2 s, 4 s... up to 30 s, with jitter so clients do not come back in step. */
export function reopenDelay(attempt: number, random: number = Math.random()): number {
  const ceiling = Math.min(REOPEN_MAX_MS, REOPEN_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random / 2));
}

export interface SubscriptionDeps {
  /** The stream's URL, with the current token, resuming after `lastEventId` when given. */
  url(lastEventId: string | undefined): string;
  /**
   * Called before reopening a stream the server closed: a request that
   * renews the token on a 401. Its rejection with `fatal` set stops the
   * subscription; any other rejection (the server down) is retried later.
   */
  check(): Promise<void>;
  onItem(item: InboxItem): void;
  onState(state: StreamState): void;
  EventSource: typeof EventSource;
}

/** A rejection of `check` after which reopening cannot help (the token is refused and cannot be renewed). */
export class FatalStreamError extends Error {
  override readonly name = 'FatalStreamError';
}

/**
 * A live subscription to the inbox stream. While the connection merely
 * drops, the browser reconnects by itself and sends `Last-Event-ID`, so the
 * server replays what was missed. When the server refuses a reconnect (an
 * expired token answers 401), the browser gives up: this reopens the stream
 * after a pause, with a renewed token and the last event id it saw.
 * Items are handed out once each, however often a resume replays them.
 */
export class InboxSubscription {
  private source: EventSource | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly seen = new SeenIds();
  private attempts = 0;
  private closed = false;

  constructor(
    private readonly deps: SubscriptionDeps,
    private lastEventId?: string,
  ) {
    this.open();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
  }

  private open(): void {
    const { deps } = this;
    deps.onState({ status: this.attempts === 0 ? 'connecting' : 'reconnecting' });
    const source = new deps.EventSource(deps.url(this.lastEventId));
    this.source = source;
    source.addEventListener('item', (e) => {
      const event = e as MessageEvent<string>;
      if (event.lastEventId) this.lastEventId = event.lastEventId;
      const item = parse<InboxItem>(event.data);
      if (item && typeof item.id === 'string' && this.seen.add(item.id)) deps.onItem(item);
    });
    source.addEventListener('ready', (e) => {
      this.attempts = 0;
      const ready = parse<{ unread_count?: unknown }>((e as MessageEvent<string>).data);
      deps.onState({ status: 'live', unreadCount: typeof ready?.unread_count === 'number' ? ready.unread_count : 0 });
    });
    source.addEventListener('error', () => {
      if (this.closed || this.source !== source) return;
      if (source.readyState !== CLOSED) {
        deps.onState({ status: 'reconnecting' });
        return;
      }
      source.close();
      this.source = null;
      this.reopenLater();
    });
  }

  private reopenLater(): void {
    this.attempts++;
    this.deps.onState({ status: 'reconnecting' });
    this.timer = setTimeout(() => {
      this.deps.check().then(
        () => {
          if (!this.closed) this.open();
        },
        (err: unknown) => {
          if (this.closed) return;
          if (err instanceof FatalStreamError) this.deps.onState({ status: 'stopped', reason: err.message });
          else this.reopenLater();
        },
      );
    }, reopenDelay(this.attempts));
  }
}

function parse<T>(data: string): T | null {
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}
