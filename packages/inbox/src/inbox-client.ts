import { InboxError } from './inbox-error.js';
import { FatalStreamError, InboxSubscription } from './subscription.js';
import { TokenKeeper } from './token-keeper.js';
import type { InboxItem, InboxPage, ListOptions, StreamState, TokenProvider } from './types.js';

export interface InboxClientOptions {
  /** Where the notify API answers, e.g. `https://notify.example.com`. */
  apiUrl: string;
  userId: string;
  /** A user token your backend minted with `POST /users/{user_id}/tokens`. */
  token: string;
  /** Returns a fresh token: called shortly before the current one expires, and on a 401 (the request is then retried once). */
  getToken?: TokenProvider;
  /** Defaults to the browser's. */
  fetch?: typeof fetch;
  /** Defaults to the browser's. */
  EventSource?: typeof EventSource;
}

export interface SubscribeOptions {
  /** Resume after this item (the newest one already shown): items created since arrive first. */
  lastEventId?: string;
}

/**
 * One user's in-app inbox, from a browser: the REST routes under
 * `/users/{user_id}/inbox` with a user token, and its live stream.
 */
export class InboxClient {
  private readonly base: string;
  private readonly tokens: TokenKeeper;
  private readonly fetch: typeof fetch;
  private readonly EventSource: typeof EventSource | undefined;

  constructor(options: InboxClientOptions) {
    this.base = `${options.apiUrl.replace(/\/+$/, '')}/users/${encodeURIComponent(options.userId)}/inbox`;
    this.tokens = new TokenKeeper(options.token, options.getToken);
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.EventSource = options.EventSource ?? globalThis.EventSource;
  }

  /** A page of the inbox (or, with `archived`, of the archive), newest first, with the unread count. */
  list(options: ListOptions = {}): Promise<InboxPage> {
    const query = listQuery(options);
    return this.request('GET', query ? `?${query}` : '');
  }

  async unreadCount(): Promise<number> {
    return (await this.request<{ unread_count: number }>('GET', '/unread_count')).unread_count;
  }

  markRead(id: string): Promise<InboxItem> {
    return this.itemAction(id, 'read');
  }

  markUnread(id: string): Promise<InboxItem> {
    return this.itemAction(id, 'unread');
  }

  markAllRead(): Promise<{ marked: number; unread_count: number }> {
    return this.request('POST', '/read-all');
  }

  archive(id: string): Promise<InboxItem> {
    return this.itemAction(id, 'archive');
  }

  unarchive(id: string): Promise<InboxItem> {
    return this.itemAction(id, 'unarchive');
  }

  /** Removes the item for good: it is never listed, counted or streamed again. */
  async delete(id: string): Promise<void> {
    await this.request('DELETE', `/${encodeURIComponent(id)}`);
  }

  /**
   * Calls `onItem` for each new item, live, until the returned function is
   * called. The stream resumes by itself after a dropped connection or an
   * expired token, and hands out each item once.
   */
  subscribe(onItem: (item: InboxItem) => void, onState: (state: StreamState) => void = () => {}, options: SubscribeOptions = {}): () => void {
    const EventSourceImpl = this.EventSource;
    if (!EventSourceImpl) throw new Error('EventSource is not available here');
    const subscription = new InboxSubscription(
      {
        url: (lastEventId) => streamUrl(this.base, this.tokens.current, lastEventId),
        check: () => this.streamCheck(),
        onItem,
        onState,
        EventSource: EventSourceImpl,
      },
      options.lastEventId,
    );
    return () => subscription.close();
  }

  /** Stops renewing the token (subscriptions are closed by the functions subscribe returned). */
  close(): void {
    this.tokens.stop();
  }

  private itemAction(id: string, action: 'read' | 'unread' | 'archive' | 'unarchive'): Promise<InboxItem> {
    return this.request('POST', `/${encodeURIComponent(id)}/${action}`);
  }

  /** Before a refused stream is reopened: renews the token if it was the cause; refused again, nothing can help. */
  private async streamCheck(): Promise<void> {
    try {
      await this.unreadCount();
    } catch (err) {
      if (err instanceof InboxError && (err.status === 401 || err.status === 403)) throw new FatalStreamError(err.message, { cause: err });
      throw err;
    }
  }

  private async request<T>(method: string, path: string): Promise<T> {
    // keepalive: an action taken as the page navigates away (a click on an item's link) still reaches the server.
    const send = (token: string) => this.fetch(`${this.base}${path}`, { method, headers: { authorization: `Bearer ${token}` }, keepalive: method !== 'GET' });
    const used = this.tokens.current;
    let res = await send(used);
    if (res.status === 401 && this.tokens.renewable) {
      // Another request may have renewed it meanwhile.
      res = await send(this.tokens.current === used ? await this.tokens.refresh() : this.tokens.current);
    }
    if (!res.ok) throw await InboxError.from(res);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
}

/** The list's query string (the API's snake_case names). */
export function listQuery(options: ListOptions): string {
  const q = new URLSearchParams();
  if (options.limit !== undefined) q.set('limit', String(options.limit));
  if (options.cursor !== undefined) q.set('cursor', options.cursor);
  if (options.unreadOnly) q.set('unread_only', 'true');
  if (options.archived) q.set('archived', 'true');
  return q.toString();
}

/** EventSource sends no headers: the token goes in the query, and so does where to resume when the stream is reopened by hand. */
export function streamUrl(base: string, token: string, lastEventId: string | undefined): string {
  const q = new URLSearchParams({ token });
  if (lastEventId) q.set('last_event_id', lastEventId);
  return `${base}/stream?${q}`;
}
