import type { Delivery as DeliveryRow, Notification as NotificationRow } from '../generated/prisma/client.js';
import type { PlannedNotification } from './plan.js';
import type { Delivery, Notification } from '../schemas/notifications.js';
import type { RenderedContent } from '../schemas/templates.js';

/** The API's snake_case shape of a delivery row (the columns it shows). */
export function deliveryView(d: Omit<DeliveryRow, 'appId' | 'notificationId'>): Delivery {
  return {
    id: d.id,
    channel: d.channel,
    status: d.status,
    scheduled_for: d.scheduledFor?.toISOString() ?? null,
    reason: d.reason,
    attempts: d.attempts,
    last_error: d.lastErrorCode === null && d.lastErrorMessage === null ? null : { code: d.lastErrorCode, message: d.lastErrorMessage },
    provider: d.provider,
    provider_message_id: d.providerMessageId,
    provider_status: d.providerStatus,
    provider_status_at: d.providerStatusAt?.toISOString() ?? null,
    provider_error_code: d.providerErrorCode,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    failed_at: d.failedAt?.toISOString() ?? null,
  };
}

export function notificationView(n: NotificationRow & { deliveries: DeliveryRow[] }): Notification {
  return {
    id: n.id,
    user_id: n.userId,
    type: n.type,
    category: n.category,
    subject: n.subject,
    message: n.message,
    template: n.templateKey && n.templateVersion !== null ? { key: n.templateKey, version: n.templateVersion } : null,
    locale: n.locale,
    content: (n.content ?? null) as RenderedContent | null,
    data: (n.data ?? null) as Record<string, unknown> | null,
    priority: n.priority,
    status: n.status,
    send_at: n.sendAt?.toISOString() ?? null,
    batch_id: n.batchId,
    request_id: n.requestId,
    created_at: n.createdAt.toISOString(),
    updated_at: n.updatedAt.toISOString(),
    deliveries: [...n.deliveries].sort((a, b) => a.id.localeCompare(b.id)).map(deliveryView),
  };
}

/** The view of a notification just planned, before any delivery moved: the 202 answer. */
export function plannedView(n: PlannedNotification): Notification {
  const at = n.createdAt.toISOString();
  return {
    id: n.id,
    user_id: n.userId,
    type: n.type,
    category: n.category,
    subject: n.subject,
    message: n.message,
    template: n.template,
    locale: n.locale,
    content: n.content,
    data: n.data,
    priority: n.priority,
    status: n.deliveries.some((d) => d.status === 'queued') ? 'pending' : 'skipped',
    send_at: n.sendAt?.toISOString() ?? null,
    batch_id: n.batchId,
    request_id: n.requestId,
    created_at: at,
    updated_at: at,
    // The rows as just inserted: no attempt yet, stamped with the notification's time.
    deliveries: n.deliveries.map((d) =>
      deliveryView({
        ...d,
        attempts: 0,
        lastErrorCode: null,
        lastErrorMessage: null,
        provider: null,
        providerMessageId: null,
        providerStatus: null,
        providerStatusAt: null,
        providerErrorCode: null,
        createdAt: n.createdAt,
        updatedAt: n.createdAt,
        deliveredAt: null,
        failedAt: null,
      }),
    ),
  };
}
