import type { Channel } from '../platform/channels.js';

/** What the service knows about how to reach a user, as read from the database. */
export interface Recipient {
  email: string | null;
  phone: string | null;
  deviceCount: number;
  /** Set when the user has a webhook endpoint that is not disabled. */
  webhookUrl: string | null;
}

/** Whether the user can be reached on a channel at all. The in-app inbox needs no contact. */
export function hasContact(channel: Channel, r: Recipient | undefined): boolean {
  switch (channel) {
    case 'email':
      return Boolean(r?.email);
    case 'sms':
      return Boolean(r?.phone);
    case 'push':
      return (r?.deviceCount ?? 0) > 0;
    case 'in_app':
      return true;
    case 'webhook':
      return Boolean(r?.webhookUrl);
  }
}
