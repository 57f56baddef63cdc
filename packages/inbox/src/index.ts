// @notify/inbox: the in-app inbox from a browser. The client is here; `@notify/inbox/element` (notify-inbox.js) defines <notify-inbox>.
export { InboxClient, type InboxClientOptions, type SubscribeOptions } from './inbox-client.js';
export { InboxError } from './inbox-error.js';
export type { InboxItem, InboxPage, ListOptions, StreamState, TokenProvider } from './types.js';
