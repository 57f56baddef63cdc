// Schemas: the zod schemas of the HTTP API's requests and responses, shared by routes, OpenAPI and tests.
export * from './common.js';
export * from './notifications.js';
export * from './users.js';
export * from './deliveries.js';
export * from './inbox.js';
export * from './categories.js';
export * from './templates.js';
export * from './workflows.js';
export * from './workflow-runs.js';
export * from './schedules.js';
export * from './topics.js';
export * from './status-webhooks.js';
export * from './audit.js';
export * from './export.js';
export * from './access.js';
export * from './suppressions.js';
