import { describe, expect, it } from 'vitest';
import { QUIET_CHANNELS, quietHoursEnd } from './quiet-hours.js';

// Cases the mutation run (npm run mutation) showed missing: windows with minutes, and the exact end of a daytime window.
const end = (iso: string, start: string, stop: string, tz: string) => quietHoursEnd(new Date(iso), { start, end: stop }, tz)?.toISOString() ?? null;

describe('quietHoursEnd, to the minute', () => {
  it('counts the minutes of both bounds and of the local time (22:30-06:45 in Berlin, UTC+1 in January)', () => {
    expect(end('2026-01-14T21:29:00Z', '22:30', '06:45', 'Europe/Berlin')).toBeNull();
    expect(end('2026-01-14T21:30:00Z', '22:30', '06:45', 'Europe/Berlin')).toBe('2026-01-15T05:45:00.000Z');
    expect(end('2026-01-15T05:44:00Z', '22:30', '06:45', 'Europe/Berlin')).toBe('2026-01-15T05:45:00.000Z');
    expect(end('2026-01-15T05:45:00Z', '22:30', '06:45', 'Europe/Berlin')).toBeNull();
  });

  it('lets a daytime window end at its end, not a minute later (09:00-17:00 in New York, UTC-4 in June)', () => {
    expect(end('2026-06-01T20:59:00Z', '09:00', '17:00', 'America/New_York')).toBe('2026-06-01T21:00:00.000Z');
    expect(end('2026-06-01T21:00:00Z', '09:00', '17:00', 'America/New_York')).toBeNull();
    expect(end('2026-06-01T22:00:00Z', '09:00', '17:00', 'America/New_York')).toBeNull();
  });
});

describe('QUIET_CHANNELS', () => {
  it('holds back the channels that interrupt a person, and only those', () => {
    expect([...QUIET_CHANNELS].sort()).toEqual(['email', 'push', 'sms']);
  });
});
