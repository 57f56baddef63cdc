import { DateTime } from 'luxon';
import type { Channel, Priority } from '../platform/channels.js';

/** A user's quiet hours, local wall-clock times "HH:MM"; the window may cross midnight (22:00-07:00). */
export interface QuietHours {
  start: string;
  end: string;
}

/** Channels that interrupt a person; quiet hours hold these back. The inbox and webhooks are silent. */
export const QUIET_CHANNELS = new Set(['email', 'sms', 'push']);

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/**
 * When `at` falls inside the quiet hours in `timeZone`, the instant they end;
 * otherwise null. Computed on the local calendar (luxon), so a window that
 * spans midnight or a daylight-saving change ends at the right local time.
 */
export function quietHoursEnd(at: Date, quiet: QuietHours, timeZone: string): Date | null {
  const start = minutes(quiet.start);
  const end = minutes(quiet.end);
  if (start === end) return null;
  const local = DateTime.fromJSDate(at, { zone: timeZone });
  const now = local.hour * 60 + local.minute;
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return null;
  // Past midnight already (or a same-day window): the end is today; before midnight, tomorrow.
  const day = start > end && now >= start ? local.plus({ days: 1 }) : local;
  return day.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 }).toJSDate();
}

/**
 * Until when quiet hours hold a message on `channel` that would go out at
 * `at`, or null: critical messages and silent channels go through. Asked when
 * a notification is planned and again when a worker takes the delivery (the
 * user may have moved to another time zone since).
 */
export function quietHold(at: Date, channel: Channel, priority: Priority, quiet: QuietHours | null, timeZone: string | null): Date | null {
  if (priority === 'critical' || !QUIET_CHANNELS.has(channel) || !quiet) return null;
  return quietHoursEnd(at, quiet, timeZone ?? 'UTC');
}
