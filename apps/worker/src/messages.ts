import type { Channel, ChannelMessage, ClaimedDelivery } from '@notify/core';

/** Builds what the channel's provider sends, or null when the user has no contact for it (any more). */
export function buildMessage<C extends Channel>(channel: C, d: ClaimedDelivery): ChannelMessage[C] | null {
  const build: { [K in Channel]: () => ChannelMessage[K] | null } = {
    email: () => (d.email ? { to: d.email, subject: d.subject ?? 'Notification', text: d.message } : null),
    sms: () => (d.phone ? { to: d.phone, body: d.message } : null),
    push: () => ({ title: d.subject ?? '', body: d.message, data: d.data }),
    in_app: () => ({ userId: d.userId, title: d.subject, body: d.message, data: d.data }),
    webhook: () => null,
  };
  return build[channel]() as ChannelMessage[C] | null;
}
