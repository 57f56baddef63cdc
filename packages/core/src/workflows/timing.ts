// When a delay or digest window ends: a duration from now, or the next HH:MM on the user's own clock.
import { DateTime } from 'luxon';
import { durationSeconds } from '../schemas/workflows.js';

/**
 * The next `hhmm` strictly after `now` in `timeZone` (UTC when the user has
 * none, or an unknown one): today's if still ahead, else tomorrow's. Computed
 * on the local calendar, so a daylight-saving change moves the instant, not
 * the wall-clock time.
 */
export function nextTimeOfDay(now: Date, hhmm: string, timeZone: string | null): Date {
  const [hour, minute] = hhmm.split(':').map(Number) as [number, number];
  let local = DateTime.fromJSDate(now, { zone: timeZone ?? 'UTC' });
  if (!local.isValid) local = DateTime.fromJSDate(now, { zone: 'UTC' });
  const today = local.set({ hour, minute, second: 0, millisecond: 0 });
  return (today > local ? today : today.plus({ days: 1 })).toJSDate();
}

/** The end of a delay or digest window that starts at `now`: `duration`, else `until` (one is set; validated at write time). */
export function waitEnd(now: Date, wait: { duration?: string | undefined; until?: string | undefined }, timeZone: string | null): Date {
  if (wait.duration !== undefined) return new Date(now.getTime() + (durationSeconds(wait.duration) ?? 0) * 1000);
  return nextTimeOfDay(now, wait.until ?? '00:00', timeZone);
}
