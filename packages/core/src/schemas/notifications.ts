import { z } from 'zod';
import { CHANNELS, PRIORITIES } from '../platform/channels.js';
import { LIMITS } from '../platform/limits.js';
import { LocaleTag, PageQuery, Timestamp, UserId } from './common.js';
import { CategoryKey, RenderedContent, TemplateKey } from './templates.js';
import { PROVIDER_STATUSES } from '../receipts/provider-status.js';

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

const Channels = z
  .array(Channel)
  .min(1)
  .max(CHANNELS.length)
  .refine((cs) => new Set(cs).size === cs.length, { message: 'must not repeat a channel' });

export const TopicKey = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and . _ : - only')
  .meta({ example: 'release-notes' });

/** What to send and how: shared by single, bulk and topic notifications (and recurring schedules). */
export const NotificationContent = {
  message: z.string().min(1).max(LIMITS.messageLength).optional().meta({ description: 'The text to send; or give template' }),
  template: TemplateKey.optional().meta({ description: 'Render this template (its latest version) with data' }),
  channels: Channels.optional().meta({ description: "Required with message; with template, defaults to the template's channels" }),
  priority: Priority.default('normal'),
  subject: z.string().min(1).max(LIMITS.subjectLength).optional(),
  type: z.string().min(1).max(LIMITS.typeLength).optional(),
  category: CategoryKey.optional().meta({ description: "Preferences apply per category; a required category ignores opt-outs. Defaults to the template's category" }),
  locale: LocaleTag.optional().meta({ description: "Render the template in this locale instead of the user's" }),
  data: Data.optional(),
  send_at: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Deliver at this time (ISO 8601 with offset); cancel before then with POST /notifications/{id}/cancel' }),
};

/** The guard rails of a mass send (topic or bulk): a dry run, and the confirmation of a large audience. */
const SendGuards = {
  dry_run: z.boolean().optional().meta({ description: 'Answer (200) how many recipients and deliveries per channel the send would create, creating nothing' }),
  confirm_recipients: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: "Required when the send reaches more than FANOUT_CONFIRM_THRESHOLD recipients: the dry run's `recipients`; any other number is refused" }),
};

/** Exactly one of message and template; channels when there is no template. */
export function contentRules(b: { message?: string | undefined; template?: string | undefined; channels?: unknown }, ctx: z.RefinementCtx) {
  if ((b.message === undefined) === (b.template === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['message'], message: 'give either message or template' });
  }
  if (b.message !== undefined && b.channels === undefined) {
    ctx.addIssue({ code: 'custom', path: ['channels'], message: 'required with message' });
  }
}

export const CreateNotificationBody = z
  .object({
    user_id: UserId.optional(),
    topic: TopicKey.optional().meta({ description: "Notify every subscriber of this topic instead of one user; answers the fan-out's batch" }),
    ...NotificationContent,
    idempotency_key: IdempotencyKey.optional().meta({ description: 'Same as the Idempotency-Key header' }),
    ...SendGuards,
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.user_id === undefined) === (b.topic === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'give either user_id or topic' });
    }
    for (const guard of ['dry_run', 'confirm_recipients'] as const) {
      if (b.user_id !== undefined && b[guard] !== undefined) ctx.addIssue({ code: 'custom', path: [guard], message: 'only for a topic send' });
    }
    contentRules(b, ctx);
  })
  .meta({ id: 'CreateNotification' });
export type CreateNotificationBody = z.infer<typeof CreateNotificationBody>;

export const DeliveryStatus = z.enum(['queued', 'sending', 'retrying', 'delivered', 'failed', 'skipped', 'cancelled']).meta({ id: 'DeliveryStatus' });
export const NotificationStatus = z.enum(['pending', 'delivered', 'partial', 'failed', 'skipped', 'cancelled']).meta({
  id: 'NotificationStatus',
  description: 'pending while any delivery is unfinished; then delivered (all sent), partial (some sent, some failed), failed, cancelled or skipped',
});

export const Delivery = z
  .object({
    id: z.uuid(),
    channel: Channel,
    status: DeliveryStatus,
    scheduled_for: Timestamp.nullable().meta({ description: 'Held until then: send_at, or the end of quiet hours' }),
    reason: z.string().nullable().meta({ description: 'Why it was skipped or cancelled: opted_out, no_contact, ...' }),
    attempts: z.number().int(),
    last_error: z.object({ code: z.string().nullable(), message: z.string().nullable() }).nullable(),
    provider: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    provider_status: z.enum(PROVIDER_STATUSES).nullable().meta({
      description:
        "The provider's receipt after accepting the message (Twilio status callbacks): sent, then delivered, undelivered or failed; the first final one stays. Null until a receipt arrives",
    }),
    provider_status_at: Timestamp.nullable(),
    provider_error_code: z.string().nullable().meta({ description: "The provider's error code of an undelivered or failed receipt", example: '30003' }),
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
    category: z.string().nullable(),
    subject: z.string().nullable(),
    message: z.string().nullable(),
    template: z.object({ key: z.string(), version: z.number().int() }).nullable(),
    locale: z.string().nullable(),
    content: RenderedContent.nullable().meta({ description: 'What the template rendered to, per channel' }),
    data: z.record(z.string(), z.unknown()).nullable(),
    priority: Priority,
    status: NotificationStatus,
    send_at: Timestamp.nullable(),
    batch_id: z.uuid().nullable(),
    request_id: z.string().nullable().meta({ description: 'The X-Request-Id of the request that made it' }),
    created_at: Timestamp,
    updated_at: Timestamp,
    deliveries: z.array(Delivery),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof Notification>;

export const NotificationPage = z.object({ data: z.array(Notification), next_cursor: z.string().nullable() }).meta({ id: 'NotificationPage' });
export type NotificationPage = z.infer<typeof NotificationPage>;

export const NotificationListQuery = PageQuery.extend({ status: NotificationStatus.optional() });

export const BulkBody = z
  .object({
    recipients: z
      .array(z.object({ user_id: UserId, data: Data.optional().meta({ description: 'Merged over the shared data for this recipient' }) }).strict())
      .min(1)
      .max(LIMITS.bulkRecipients),
    ...NotificationContent,
    ...SendGuards,
  })
  .strict()
  .superRefine(contentRules)
  .meta({ id: 'BulkNotification' });
export type BulkBody = z.infer<typeof BulkBody>;

const StatusCounts = (statuses: readonly string[]) => z.object(Object.fromEntries(statuses.map((s) => [s, z.number().int()])) as Record<string, z.ZodNumber>);

export const Batch = z
  .object({
    id: z.uuid(),
    kind: z.enum(['bulk', 'topic']),
    topic: z.string().nullable(),
    status: z.enum(['creating', 'created', 'failed', 'cancelled']).meta({
      description: 'creating while a topic is still being fanned out; failed when its template could not render (too expensive, too large); cancelled by POST /batches/{id}/cancel',
    }),
    complete: z.boolean().meta({ description: 'Every notification created and finished' }),
    notifications: z.number().int().meta({ description: 'Created so far' }),
    by_status: StatusCounts(NotificationStatus.options).meta({ description: 'Notifications per status' }),
    deliveries: StatusCounts(DeliveryStatus.options).meta({ description: 'Deliveries per status' }),
    created_at: Timestamp,
  })
  .meta({ id: 'Batch' });
export type Batch = z.infer<typeof Batch>;

export const DryRun = z
  .object({
    dry_run: z.literal(true),
    recipients: z.number().int().meta({ description: 'Notifications the send would create, one per recipient: the number `confirm_recipients` takes' }),
    deliveries: z
      .partialRecord(Channel, z.object({ queued: z.number().int(), skipped: z.number().int() }))
      .meta({ description: "Per channel of the request: deliveries that would be queued, and skipped (the user's preferences, no contact, erased)" }),
  })
  .meta({ id: 'DryRun' });
export type DryRun = z.infer<typeof DryRun>;

export const BatchCancel = z
  .object({
    fanout_stopped: z.boolean().meta({ description: 'A topic fan-out was still creating notifications and will create no more' }),
    cancelled_deliveries: z.number().int().meta({ description: 'Deliveries not yet sent that are now `cancelled`' }),
    batch: Batch,
  })
  .meta({ id: 'BatchCancel' });
export type BatchCancel = z.infer<typeof BatchCancel>;
