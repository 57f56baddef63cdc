// Notifications: accepting a notification (spec -> plan -> insert -> enqueue) for single, keyed, bulk and topic sends, and reading it back.
export * from './accept.js';
export * from './recipients.js';
export * from './store.js';
export * from './notifications.js';
export * from './writer.js';
export * from './idempotency.js';
export * from './batches.js';
export * from './batch-cancel.js';
export * from './dry-run.js';
export * from './audience-guard.js';
export * from './plan.js';
export * from './spec.js';
export * from './view.js';
