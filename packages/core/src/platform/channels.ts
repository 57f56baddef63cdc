/** The delivery channels, in the order the API documents them. */
export const CHANNELS = ['email', 'sms', 'push', 'in_app', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Notification priorities, most urgent first. */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}
