import type { Delivery as DeliveryRow, Notification as NotificationRow } from './generated/prisma/client.js';
import type { Delivery, Notification } from './schemas/notifications.js';

/** The API's snake_case shape of a delivery row. */
export function deliveryView(d: DeliveryRow): Delivery {
  return {
    id: d.id,
    channel: d.channel,
    status: d.status,
    reason: d.reason,
    attempts: d.attempts,
    last_error:
      d.lastErrorCode === null && d.lastErrorMessage === null
        ? null
        : { code: d.lastErrorCode, message: d.lastErrorMessage },
    provider: d.provider,
    provider_message_id: d.providerMessageId,
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
    subject: n.subject,
    message: n.message,
    data: (n.data ?? null) as Record<string, unknown> | null,
    priority: n.priority,
    status: n.status,
    created_at: n.createdAt.toISOString(),
    updated_at: n.updatedAt.toISOString(),
    deliveries: [...n.deliveries].sort((a, b) => a.id.localeCompare(b.id)).map(deliveryView),
  };
}
