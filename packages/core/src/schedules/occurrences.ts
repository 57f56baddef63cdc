// When a schedule fires: its cron expression read in a time zone, by the same parser BullMQ's job schedulers use.
import { defaultRepeatStrategy } from 'bullmq';
import { DateTime } from 'luxon';
import type { ErrorDetail } from '../platform/errors.js';

/**
 * The zone a `timezone: "user"` schedule fires in: the first on Earth to
 * reach any wall-clock time (UTC+14), so every other zone's same time is
 * still ahead and becomes that recipient's send_at.
 */
export const EARLIEST_ZONE = 'Pacific/Kiritimati';

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The next occurrence strictly after `after`, or null when the expression never occurs again. */
export function nextOccurrence(cron: string, zone: string, after: Date): Date | null {
  const next = defaultRepeatStrategy(after.getTime(), { pattern: cron, tz: zone });
  return next === undefined ? null : new Date(next);
}

export function nextOccurrences(cron: string, zone: string, after: Date, count: number): Date[] {
  const out: Date[] = [];
  for (let at = nextOccurrence(cron, zone, after); at && out.length < count; at = nextOccurrence(cron, zone, at)) out.push(at);
  return out;
}

/** Why a cron expression and zone cannot make a schedule (422 details), or none. */
export function scheduleTimingProblems(cron: string, timezone: string): ErrorDetail[] {
  if (timezone !== 'user' && !isTimeZone(timezone)) return [{ path: 'timezone', message: 'must be an IANA time zone such as Europe/Paris, or "user"' }];
  const zone = timezone === 'user' ? EARLIEST_ZONE : timezone;
  // The parser fills in fields left out; a cron expression with 4 or 7 is a mistake to point out, not to guess.
  const fields = cron.trim().split(/\s+/).length;
  if (!cron.trim().startsWith('@') && fields !== 5 && fields !== 6) return [{ path: 'cron', message: 'must have 5 fields, or 6 with seconds first' }];
  try {
    if (!nextOccurrence(cron, zone, new Date())) return [{ path: 'cron', message: 'never occurs' }];
  } catch (err) {
    return [{ path: 'cron', message: `not a cron expression: ${(err as Error).message}` }];
  }
  return [];
}

/** The instant `zone` shows the wall-clock time `at` shows in `from` (09:00 in Kiritimati -> 09:00 in Paris, 13 hours later). */
export function sameWallClock(at: Date, from: string, zone: string): Date {
  return DateTime.fromJSDate(at, { zone: from }).setZone(zone, { keepLocalTime: true }).toJSDate();
}
