// Audience: who receives a notification (users, contacts, preferences, quiet hours, topics, erasure).
export * from './contacts.js';
export * from './preferences.js';
export * from './users.js';
export * from './quiet-hours.js';
export * from './topics.js';
export * from './erasure.js';
export * from './export.js';
export * from './unsubscribe.js';
