/**
 * Status webhooks: an app registers endpoints that receive
 * `delivery.delivered`, `delivery.failed`, `notification.completed` and
 * `delivery.provider_status` (a provider's receipt, see receipts/).
 * The events are written by the same statement that moves the delivery (so
 * none is lost or doubled), one row per subscribed endpoint; that row is both
 * the outbox and the endpoint's delivery log.
 */
export const STATUS_EVENT_TYPES = ['delivery.delivered', 'delivery.failed', 'notification.completed', 'delivery.provider_status'] as const;
export type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];

/**
 * More CTE steps: `events` inserts the events of the rows in `moved` (which
 * must return id, notification_id, channel, status, provider,
 * provider_message_id, attempts, last_error_code, last_error_message) and of
 * the notifications in `counted` that just finished, for every endpoint of
 * the app that wants them. Returns the new event ids.
 */
export function statusEventsSql(moved: string | null): string {
  const deliveryEvents = moved
    ? `SELECT 'delivery.' || m.status::text AS type, c.app_id, c.user_id,
          jsonb_build_object('type', 'delivery.' || m.status::text, 'timestamp', now(),
            'data', jsonb_build_object('delivery_id', m.id, 'notification_id', m.notification_id, 'user_id', c.user_id,
              'channel', m.channel, 'status', m.status, 'provider', m.provider, 'provider_message_id', m.provider_message_id,
              'attempts', m.attempts,
              'error', CASE WHEN m.status = 'failed' THEN jsonb_build_object('code', m.last_error_code, 'message', m.last_error_message) END)) AS payload
        FROM ${moved} m JOIN counted c ON c.id = m.notification_id
        WHERE m.status IN ('delivered', 'failed')
        UNION ALL`
    : '';
  return `events AS (
      INSERT INTO status_events (id, app_id, endpoint_id, user_id, type, payload)
      SELECT gen_random_uuid(), e.app_id, w.id, e.user_id, e.type, e.payload
      FROM (
        ${deliveryEvents}
        SELECT 'notification.completed' AS type, c.app_id, c.user_id,
          jsonb_build_object('type', 'notification.completed', 'timestamp', now(),
            'data', jsonb_build_object('notification_id', c.id, 'user_id', c.user_id, 'status', c.status,
              'deliveries', jsonb_build_object('delivered', c.delivered_count, 'failed', c.failed_count,
                'skipped', c.skipped_count, 'cancelled', c.cancelled_count))) AS payload
        FROM counted c WHERE c.status <> 'pending'
      ) e
      JOIN status_webhooks w ON w.app_id = e.app_id AND e.type = ANY(w.events)
      RETURNING id
    )`;
}

/**
 * A CTE step `events` inserting a `delivery.provider_status` event for each
 * row of `receipted` (which must return id, app_id, notification_id, channel,
 * status, provider, provider_message_id, provider_status, provider_status_at,
 * provider_error_code), for every endpoint of its app that wants them.
 */
export function providerStatusEventsSql(receipted: string): string {
  return `events AS (
      INSERT INTO status_events (id, app_id, endpoint_id, user_id, type, payload)
      SELECT gen_random_uuid(), r.app_id, w.id, n.user_id, 'delivery.provider_status',
        jsonb_build_object('type', 'delivery.provider_status', 'timestamp', now(),
          'data', jsonb_build_object('delivery_id', r.id, 'notification_id', r.notification_id, 'user_id', n.user_id,
            'channel', r.channel, 'status', r.status, 'provider', r.provider, 'provider_message_id', r.provider_message_id,
            'provider_status', r.provider_status, 'provider_status_at', r.provider_status_at, 'provider_error_code', r.provider_error_code))
      FROM ${receipted} r JOIN notifications n ON n.id = r.notification_id
      JOIN status_webhooks w ON w.app_id = r.app_id AND 'delivery.provider_status' = ANY(w.events)
      RETURNING id
    )`;
}
