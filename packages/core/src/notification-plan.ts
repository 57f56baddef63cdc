import type { Channel, Priority } from './channels.js';
import { hasContact } from './contacts.js';
import { newId } from './ids.js';
import type { PlannedNotification, RecipientProfile } from './notification-store.js';
import { channelEnabled } from './preferences.js';
import { QUIET_CHANNELS, quietHoursEnd } from './quiet-hours.js';
import type { RenderedContent } from './schemas/templates.js';
import { renderTemplate, resolveLocale } from './templates/engine.js';
import type { LoadedTemplate } from './templates/templates.js';

/** A notification request, resolved (template loaded, category checked), for any number of recipients. */
export interface NotificationSpec {
  appId: string;
  message: string | null;
  template: LoadedTemplate | null;
  channels: Channel[];
  priority: Priority;
  subject: string | null;
  type: string | null;
  category: string | null;
  categoryRequired: boolean;
  /** Render in this locale rather than the recipient's. */
  locale: string | null;
  data: Record<string, unknown> | null;
  sendAt: Date | null;
  batchId: string | null;
  /** The X-Request-Id of the request: stored on the notification and carried by its jobs. */
  requestId: string | null;
}

/**
 * One recipient's notification: content rendered in their locale, and each
 * channel queued (when, given send_at and their quiet hours) or skipped with
 * the reason. Pure; throws TemplateRenderError when the template cannot
 * render with this data.
 */
export function planNotification(
  spec: NotificationSpec,
  userId: string,
  recipient: RecipientProfile | undefined,
  extraData: Record<string, unknown> | undefined,
  now: Date,
): PlannedNotification {
  const data = extraData ? { ...spec.data, ...extraData } : spec.data;
  let content: RenderedContent | null = null;
  let locale: string | null = null;
  if (spec.template) {
    const body = spec.template.body;
    locale = resolveLocale(Object.keys(body.locales), spec.locale ?? recipient?.locale, body.default_locale);
    content = renderTemplate(body, locale, spec.channels, data ?? {});
  }
  const sendAt = spec.sendAt && spec.sendAt > now ? spec.sendAt : null;
  return {
    id: newId(),
    appId: spec.appId,
    userId,
    type: spec.type,
    category: spec.category,
    subject: spec.subject,
    message: spec.message,
    data,
    priority: spec.priority,
    template: spec.template ? { key: spec.template.key, version: spec.template.version } : null,
    locale,
    content,
    sendAt: spec.sendAt,
    batchId: spec.batchId,
    requestId: spec.requestId,
    idempotencyKey: null,
    createdAt: now,
    deliveries: spec.channels.map((channel) => {
      const id = newId();
      if (recipient?.erased) return { id, channel, status: 'skipped', reason: 'erased', scheduledFor: null };
      if (!channelEnabled(recipient?.preferences ?? [], channel, spec.category, spec.categoryRequired)) {
        return { id, channel, status: 'skipped', reason: 'opted_out', scheduledFor: null };
      }
      if (!hasContact(channel, recipient)) return { id, channel, status: 'skipped', reason: 'no_contact', scheduledFor: null };
      return { id, channel, status: 'queued', reason: null, scheduledFor: holdUntil(channel, spec.priority, recipient, sendAt, now) };
    }),
  };
}

/** send_at, pushed past the end of the user's quiet hours for channels that interrupt (critical goes through). */
function holdUntil(channel: Channel, priority: Priority, recipient: RecipientProfile | undefined, sendAt: Date | null, now: Date): Date | null {
  if (priority === 'critical' || !QUIET_CHANNELS.has(channel) || !recipient?.quietHours) return sendAt;
  return quietHoursEnd(sendAt ?? now, recipient.quietHours, recipient.timezone ?? 'UTC') ?? sendAt;
}
