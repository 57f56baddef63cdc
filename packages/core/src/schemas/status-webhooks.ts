import { z } from 'zod';
import { STATUS_EVENT_TYPES } from '../status-webhooks/events.js';
import { PageQuery, Timestamp } from './common.js';

const EventType = z.enum(STATUS_EVENT_TYPES).meta({ id: 'StatusEventType' });

export const CreateStatusWebhook = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(2048),
    events: z.array(EventType).min(1).optional().meta({ description: 'Default: all of them' }),
  })
  .strict()
  .meta({ id: 'CreateWebhook' });

export const StatusWebhook = z
  .object({
    id: z.uuid(),
    url: z.string(),
    secret: z.string().meta({ description: 'Standard Webhooks signing secret (whsec_...)' }),
    events: z.array(EventType),
    created_at: Timestamp,
  })
  .meta({ id: 'Webhook' });
export type StatusWebhook = z.infer<typeof StatusWebhook>;

export const StatusEvent = z
  .object({
    id: z.uuid().meta({ description: 'Also the webhook-id header' }),
    type: EventType,
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    created_at: Timestamp,
    delivered_at: Timestamp.nullable(),
  })
  .meta({ id: 'WebhookEvent' });

export const StatusEventPage = z.object({ data: z.array(StatusEvent), next_cursor: z.string().nullable() }).meta({ id: 'WebhookEventPage' });
export type StatusEventPage = z.infer<typeof StatusEventPage>;

export const StatusEventQuery = PageQuery.extend({ status: z.enum(['pending', 'delivered', 'failed']).optional() });
