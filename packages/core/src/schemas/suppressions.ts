import { z } from 'zod';
import { SUPPRESSION_REASONS } from '../channels/provider-error.js';
import { CHANNELS } from '../platform/channels.js';
import { PageQuery, Timestamp } from './common.js';

export const Suppression = z
  .object({
    id: z.uuid(),
    channel: z.enum(CHANNELS),
    address: z.string().meta({ description: 'The email address (lower-cased), phone number or push token' }),
    reason: z.enum(SUPPRESSION_REASONS).meta({
      description:
        'hard_bounce (SMTP 5xx to the recipient), unsubscribed (the recipient texted STOP), invalid_address (e.g. Twilio 21211), unregistered (a push token the service no longer knows)',
    }),
    error_code: z.string().nullable().meta({ description: 'The provider error that caused it', example: 'smtp_550' }),
    delivery_id: z.uuid().nullable().meta({ description: 'The delivery that was refused' }),
    created_at: Timestamp,
  })
  .meta({ id: 'Suppression' });
export type Suppression = z.infer<typeof Suppression>;

export const SuppressionPage = z.object({ data: z.array(Suppression), next_cursor: z.string().nullable() }).meta({ id: 'SuppressionPage' });
export type SuppressionPage = z.infer<typeof SuppressionPage>;

export const SuppressionQuery = PageQuery.extend({
  channel: z.enum(CHANNELS).optional(),
  address: z.string().min(1).max(4096).optional().meta({ description: 'Exactly this address (email addresses match in any case)' }),
});
export type SuppressionQuery = z.infer<typeof SuppressionQuery>;
