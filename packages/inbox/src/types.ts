/** An inbox item as the API sends it (GET /users/{user_id}/inbox and the stream's `item` events). */
export interface InboxItem {
  id: string;
  notification_id: string;
  title: string | null;
  body: string;
  data: Record<string, unknown> | null;
  /** Where a click goes: an http(s) URL or a path on your site, or null. */
  link: string | null;
  sender_id: string | null;
  read_at: string | null;
  archived_at: string | null;
  created_at: string;
}

export interface InboxPage {
  data: InboxItem[];
  /** Unread items not archived: what a badge shows. */
  unread_count: number;
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

export interface ListOptions {
  /** Items per page (the API's default when omitted). */
  limit?: number;
  cursor?: string;
  unreadOnly?: boolean;
  /** true: the archive instead of the inbox. */
  archived?: boolean;
}

/** Where a live subscription stands, for a "live" / "reconnecting" indicator. */
export type StreamState =
  | { status: 'connecting' }
  /** Caught up and live; the unread count as the server counted it then. */
  | { status: 'live'; unreadCount: number }
  /** The connection dropped; it is being reopened. */
  | { status: 'reconnecting' }
  /** Given up: the token expired and there is no getToken to renew it. */
  | { status: 'stopped'; reason: string };

/** Returns a fresh user token (your backend mints it with POST /users/{user_id}/tokens). */
export type TokenProvider = () => Promise<string>;
