// Inbox: the in-app inbox a user reads (listing, unread count, marking read, live events).
export * from './inbox.js';
