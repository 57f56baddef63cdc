import type { Channel, Priority } from '../platform/channels.js';
import { hasContact } from '../audience/contacts.js';
import { newId } from '../platform/ids.js';
import type { RecipientProfile } from './recipients.js';
import type { NotificationSpec } from './spec.js';
import { channelEnabled } from '../audience/preferences.js';
import { quietHold } from '../audience/quiet-hours.js';
import type { RenderedContent } from '../schemas/templates.js';
import { resolveLocale, TemplateRenderError } from '../content/engine.js';
import type { LocaleOutcome } from '../content/render-pool.js';

/** A notification ready to be written, with its deliveries already planned. */
export interface PlannedNotification {
  id: string;
  appId: string;
  userId: string;
  type: string | null;
  category: string | null;
  subject: string | null;
  message: string | null;
  data: Record<string, unknown> | null;
  priority: Priority;
  template: { key: string; version: number } | null;
  locale: string | null;
  content: RenderedContent | null;
  sendAt: Date | null;
  batchId: string | null;
  requestId: string | null;
  traceparent?: string | undefined;
  idempotencyKey: string | null;
  createdAt: Date;
  deliveries: PlannedDelivery[];
}

export interface PlannedDelivery {
  id: string;
  channel: Channel;
  status: 'queued' | 'skipped';
  reason: string | null;
  /** Not before this moment (send_at or the end of quiet hours); null: at once. */
  scheduledFor: Date | null;
}

/** The template locale a recipient gets: the request's locale, else theirs, else the template's default. */
export function localeFor(spec: NotificationSpec, recipient: RecipientProfile | undefined): string | null {
  if (!spec.template) return null;
  const body = spec.template.body;
  return resolveLocale(Object.keys(body.locales), spec.locale ?? recipient?.locale, body.default_locale);
}

/**
 * The locales a recipient not loaded yet may get: only the request's when it
 * names one, else every locale of the template (rendered together in one
 * task, before the group-commit writer learns the recipient's locale).
 */
export function candidateLocales(spec: NotificationSpec): string[] {
  if (!spec.template) return [];
  const body = spec.template.body;
  if (spec.locale) return [resolveLocale(Object.keys(body.locales), spec.locale, body.default_locale)];
  return [...new Set([body.default_locale, ...Object.keys(body.locales)])];
}

/**
 * One recipient's notification: content in their locale (rendered beforehand
 * in the render pool: `rendered` holds the outcome for each locale it may
 * get), and each channel queued (when, given send_at and their quiet hours)
 * or skipped with the reason. Pure; throws TemplateRenderError when the
 * template cannot render with this data in the recipient's locale.
 */
export function planNotification(
  spec: NotificationSpec,
  userId: string,
  recipient: RecipientProfile | undefined,
  extraData: Record<string, unknown> | undefined,
  now: Date,
  rendered?: Record<string, LocaleOutcome>,
): PlannedNotification {
  const data = extraData ? { ...spec.data, ...extraData } : spec.data;
  let content: RenderedContent | null = null;
  const locale = localeFor(spec, recipient);
  if (locale !== null) {
    const outcome = rendered?.[locale];
    // A caller bug, not a client error: rendering happens only in the render pool.
    if (!outcome) throw new Error(`planNotification: no content rendered for locale ${locale}`);
    if ('details' in outcome) throw new TemplateRenderError(outcome.details);
    content = outcome.content;
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
    traceparent: spec.traceparent,
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
  return quietHold(sendAt ?? now, channel, priority, recipient?.quietHours ?? null, recipient?.timezone ?? null) ?? sendAt;
}
