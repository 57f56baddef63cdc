import type pg from 'pg';
import { newId } from '../platform/ids.js';
import { inboxChannel, inboxItemView } from '../inbox/inbox.js';
import type { Redis } from '../platform/redis.js';
import { messageFor, type Provider } from './provider.js';

/**
 * The in-app channel's provider: delivering stores the message in the user's
 * inbox and announces it on Redis pub/sub, where every API replica's live
 * streams (SSE) listen. One item per delivery: a repeated send stores nothing new.
 */
export function createInboxProvider(deps: { pool: pg.Pool; redis: Redis; prefix: string }): Provider {
  return {
    name: 'inbox',
    channels: ['in_app'],
    async send(envelope, ctx) {
      const m = messageFor(envelope, 'in_app');
      const { link = null, senderId = null } = m;
      const { rows } = await deps.pool.query<{ id: string; created_at: Date; inserted: boolean }>({
        text: `/* inbox_insert */ WITH ins AS (
            INSERT INTO inbox_items (id, app_id, user_id, notification_id, delivery_id, title, body, data, link, sender_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
            ON CONFLICT (delivery_id) DO NOTHING
            RETURNING id, created_at
          )
          SELECT id, created_at, true AS inserted FROM ins
          UNION ALL SELECT id, created_at, false FROM inbox_items WHERE delivery_id = $5 AND NOT EXISTS (SELECT 1 FROM ins)`,
        values: [newId(), m.appId, m.userId, m.notificationId, ctx.deliveryId, m.title, m.body, m.data === null ? null : JSON.stringify(m.data), link, senderId],
      });
      const row = rows[0]!;
      if (row.inserted) {
        const { notificationId, title, body, data } = m;
        const event = inboxItemView({ id: row.id, notificationId, title, body, data, link, senderId, readAt: null, archivedAt: null, createdAt: row.created_at });
        await deps.redis.publish(inboxChannel(deps.prefix, m.appId, m.userId), JSON.stringify(event));
      }
      return { providerMessageId: row.id };
    },
  };
}
