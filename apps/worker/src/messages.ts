import type { Channel } from '@notify/core/platform';
import type { ClaimedDelivery } from '@notify/core/deliveries';
import type { Envelope } from '@notify/core/channels';
import { unsubscribeHeaders, type UnsubscribeSettings } from '@notify/core/audience';
import { inboxItemSource } from '@notify/core/inbox';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The HTML part of an email that has only text: escaped, line breaks kept. */
export function textToHtml(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
  const paragraphs = escaped.split(/\n{2,}/).map((p) => `<p>${p.replace(/\n/g, '<br>')}</p>`);
  return `<!doctype html><html><body>${paragraphs.join('')}</body></html>`;
}

export interface MessageDefaults {
  emailSubject: string;
  /** One-click unsubscribe links (README "Unsubscribe"); none: emails carry no List-Unsubscribe. */
  unsubscribe?: UnsubscribeSettings | undefined;
}

/** An email the user may opt out of (its category is not required) carries its one-click unsubscribe link. */
function emailHeaders(d: ClaimedDelivery, defaults: MessageDefaults): { headers?: Record<string, string> } {
  if (!defaults.unsubscribe || d.categoryRequired) return {};
  return { headers: unsubscribeHeaders(defaults.unsubscribe, { appId: d.appId, userId: d.userId, category: d.category }) };
}

/**
 * What the channel's providers send for a claimed delivery: one message, or
 * one per device for push; none when the user has no contact for the channel
 * (any more). A templated notification sends what its template rendered for
 * the channel; a plain one sends its message.
 */
export function buildMessages(channel: Channel, d: ClaimedDelivery, defaults: MessageDefaults): Envelope[] {
  const c = d.content;
  const text = d.message ?? '';
  switch (channel) {
    case 'email': {
      if (!d.email) return [];
      const subject = c?.email?.subject ?? d.subject ?? defaults.emailSubject;
      const body = c?.email?.text ?? text;
      return [{ channel, message: { to: d.email, subject, text: body, html: c?.email?.html ?? textToHtml(body), ...emailHeaders(d, defaults) } }];
    }
    case 'sms':
      return d.phone ? [{ channel, message: { to: d.phone, body: c?.sms?.text ?? text } }] : [];
    case 'push':
      return d.devices.map((device) => ({
        channel,
        message: { device, title: c?.push?.title ?? d.subject ?? '', body: c?.push?.body ?? text, data: d.data },
      }));
    case 'in_app':
      return [
        {
          channel,
          message: {
            appId: d.appId,
            userId: d.userId,
            notificationId: d.notificationId,
            title: c?.in_app?.title ?? d.subject,
            body: c?.in_app?.body ?? text,
            data: d.data,
            ...inboxItemSource(c?.in_app?.link, d.data),
          },
        },
      ];
    case 'webhook':
      if (!d.webhookUrl || !d.webhookSecret) return [];
      return [
        {
          channel,
          message: {
            url: d.webhookUrl,
            secret: d.webhookSecret,
            payload: {
              type: 'notification',
              timestamp: d.createdAt.toISOString(),
              data: {
                notification_id: d.notificationId,
                delivery_id: d.id,
                user_id: d.userId,
                type: d.type,
                priority: d.priority,
                subject: d.subject,
                message: d.message,
                data: d.data,
                // A template's rendered webhook JSON, when the notification came from one.
                ...(c?.webhook ? { payload: c.webhook.payload } : {}),
              },
            },
          },
        },
      ];
  }
}
