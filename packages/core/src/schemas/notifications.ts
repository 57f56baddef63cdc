import { z } from 'zod';
import { CHANNELS, PRIORITIES } from '../channels.js';
import { LIMITS } from '../limits.js';
import { PageQuery, Timestamp, UserId } from './common.js';

const Channel = z.enum(CHANNELS).meta({ id: 'Channel' });
const Priority = z.enum(PRIORITIES).meta({ id: 'Priority' });

const Data = z
  .record(z.string(), z.unknown())
  .refine((d) => Buffer.byteLength(JSON.stringify(d)) <= LIMITS.dataBytes, {
    message: `must be at most ${LIMITS.dataBytes} bytes as JSON`,
  })
  .meta({ description: 'Free-form JSON passed to providers and templates' });

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters');

export const CreateNotificationBody = z
  .object({
    user_id: UserId,
    message: z.string().min(1).max(LIMITS.messageLength),
    channels: z
      .array(Channel)
      .min(1)
      .max(CHANNELS.length)
      .refine((cs) => new Set(cs).size === cs.length, { message: 'must not repeat a channel' }),
    priority: Priority.default('normal'),
    subject: z.string().min(1).max(LIMITS.subjectLength).optional(),
    type: z.string().min(1).max(LIMITS.typeLength).optional(),
    data: Data.optional(),
    idempotency_key: IdempotencyKey.optional().meta({ description: 'Same as the Idempotency-Key header' }),
  })
  .strict()
  .meta({ id: 'CreateNotification' });
export type CreateNotificationBody = z.infer<typeof CreateNotificationBody>;

export const DeliveryStatus = z
  .enum(['queued', 'sending', 'retrying', 'delivered', 'failed', 'skipped', 'cancelled'])
  .meta({ id: 'DeliveryStatus' });
export const NotificationStatus = z
  .enum(['pending', 'delivered', 'partial', 'failed', 'skipped', 'cancelled'])
  .meta({
    id: 'NotificationStatus',
    description:
      'pending while any delivery is unfinished; then delivered (all sent), partial (some sent, some failed), failed, cancelled or skipped',
  });

export const Delivery = z
  .object({
    id: z.uuid(),
    channel: Channel,
    status: DeliveryStatus,
    reason: z.string().nullable().meta({ description: 'Why it was skipped or cancelled: opted_out, no_contact, ...' }),
    attempts: z.number().int(),
    last_error: z.object({ code: z.string().nullable(), message: z.string().nullable() }).nullable(),
    provider: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    delivered_at: Timestamp.nullable(),
    failed_at: Timestamp.nullable(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;

export const Notification = z
  .object({
    id: z.uuid(),
    user_id: z.string(),
    type: z.string().nullable(),
    subject: z.string().nullable(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
    priority: Priority,
    status: NotificationStatus,
    created_at: Timestamp,
    updated_at: Timestamp,
    deliveries: z.array(Delivery),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof Notification>;

export const NotificationPage = z
  .object({ data: z.array(Notification), next_cursor: z.string().nullable() })
  .meta({ id: 'NotificationPage' });
export type NotificationPage = z.infer<typeof NotificationPage>;

export const NotificationListQuery = PageQuery.extend({ status: NotificationStatus.optional() });
