// The typed client of the notify API. Webhook verification needs node:crypto, so it lives apart: `@notify/client/webhooks`.
export {
  createNotifyClient,
  type BulkNotifications,
  type CreateNotification,
  type NotifyClient,
  type NotifyClientOptions,
  type Schemas,
  type SendOptions,
} from './notify-client.js';
export { NotifyError, type ErrorDetail } from './notify-error.js';
export type { RetryOptions } from './retry.js';
export type { components, paths } from './generated/api.js';
