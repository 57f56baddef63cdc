import { z } from 'zod';
import { CHANNELS } from '../platform/channels.js';
import { PageQuery, Timestamp } from './common.js';
import { Delivery, DeliveryStatus } from './notifications.js';

export const DeliveryListItem = Delivery.extend({ notification_id: z.uuid(), user_id: z.string() }).meta({ id: 'DeliveryListItem' });
export type DeliveryListItem = z.infer<typeof DeliveryListItem>;

export const DeliveryPage = z.object({ data: z.array(DeliveryListItem), next_cursor: z.string().nullable() }).meta({ id: 'DeliveryPage' });
export type DeliveryPage = z.infer<typeof DeliveryPage>;

export const DeliveryListQuery = PageQuery.extend({
  status: DeliveryStatus.optional(),
  channel: z.enum(CHANNELS).optional(),
});

export const Attempt = z
  .object({
    attempt: z.number().int(),
    provider: z.string(),
    outcome: z.enum(['delivered', 'retryable_error', 'permanent_error']),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    duration_ms: z.number().int(),
    at: Timestamp,
  })
  .meta({ id: 'Attempt' });

export const Replay = z.object({ id: z.uuid(), previous_error_code: z.string().nullable(), request_id: z.string().nullable(), at: Timestamp }).meta({ id: 'Replay' });

export const DeliveryDetail = DeliveryListItem.extend({
  history: z.array(Attempt).meta({ description: 'Every provider call, oldest first' }),
  replays: z.array(Replay),
}).meta({ id: 'DeliveryDetail' });
export type DeliveryDetail = z.infer<typeof DeliveryDetail>;

export const ReplayFilter = z
  .object({
    channel: z.enum(CHANNELS).optional(),
    error_code: z.string().max(100).optional(),
    notification_id: z.uuid().optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .meta({ id: 'ReplayFilter', description: 'Which failed deliveries to replay; all given conditions must hold' });
export type ReplayFilter = z.infer<typeof ReplayFilter>;

export const ReplayResult = z.object({ replayed: z.number().int(), delivery_ids: z.array(z.uuid()) }).meta({ id: 'ReplayResult' });
export type ReplayResult = z.infer<typeof ReplayResult>;
