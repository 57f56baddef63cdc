// Transitional: every folder's public names, until each import names its subpath (`@notify/core/<folder>`).
export * from './platform/index.js';
export * from './notifications/index.js';
export * from './deliveries/index.js';
export * from './outbox/index.js';
export * from './status-webhooks/index.js';
export * from './channels/index.js';
export * from './content/index.js';
export * from './audience/index.js';
export * from './inbox/index.js';
export * from './access/index.js';
export * from './observability/index.js';
export * from './schemas/index.js';
