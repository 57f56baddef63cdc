import { describe, expect, it } from 'vitest';
import { quietHold, quietHoursEnd } from './quiet-hours.js';

const night = { start: '22:00', end: '07:00' };
const berlin = 'Europe/Berlin';
const end = (iso: string, q = night, tz = berlin) => quietHoursEnd(new Date(iso), q, tz)?.toISOString() ?? null;

describe('quietHoursEnd', () => {
  it('holds a message sent late in the evening until the next morning, local time', () => {
    // 23:00 in Berlin (CET, UTC+1) -> 07:00 the next day = 06:00Z.
    expect(end('2026-01-14T22:00:00Z')).toBe('2026-01-15T06:00:00.000Z');
  });

  it('holds one sent after midnight until the same morning', () => {
    expect(end('2026-01-15T04:30:00Z')).toBe('2026-01-15T06:00:00.000Z');
  });

  it('lets through anything outside the window, including its exact end', () => {
    expect(end('2026-01-15T11:00:00Z')).toBeNull();
    expect(end('2026-01-15T06:00:00Z')).toBeNull();
    expect(end('2026-01-15T20:59:00Z')).toBeNull();
    expect(end('2026-01-15T21:00:00Z')).toBe('2026-01-16T06:00:00.000Z');
  });

  it('ends at 07:00 local across the spring DST change (the night is an hour shorter)', () => {
    // 2026-03-29 02:00 CET -> 03:00 CEST. 23:00 CET on the 28th = 22:00Z; 07:00 CEST = 05:00Z.
    expect(end('2026-03-28T22:00:00Z')).toBe('2026-03-29T05:00:00.000Z');
  });

  it('ends at 07:00 local across the autumn DST change (the night is an hour longer)', () => {
    // 2026-10-25 03:00 CEST -> 02:00 CET. 23:00 CEST on the 24th = 21:00Z; 07:00 CET = 06:00Z.
    expect(end('2026-10-24T21:00:00Z')).toBe('2026-10-25T06:00:00.000Z');
  });

  it('handles a daytime window and other zones', () => {
    expect(end('2026-06-01T13:00:00Z', { start: '09:00', end: '17:00' }, 'America/New_York')).toBe('2026-06-01T21:00:00.000Z');
    expect(end('2026-06-01T12:00:00Z', { start: '09:00', end: '17:00' }, 'America/New_York')).toBeNull();
  });

  it('treats an empty window (start = end) as none', () => {
    expect(end('2026-01-15T22:00:00Z', { start: '22:00', end: '22:00' })).toBeNull();
  });
});

describe('quietHold', () => {
  const lateEvening = new Date('2026-01-14T22:00:00Z');

  it('holds email, SMS and push until the window ends in the time zone given', () => {
    for (const channel of ['email', 'sms', 'push'] as const) {
      expect(quietHold(lateEvening, channel, 'normal', night, berlin)?.toISOString()).toBe('2026-01-15T06:00:00.000Z');
    }
    expect(quietHold(lateEvening, 'email', 'high', night, 'America/New_York')).toBeNull();
  });

  it('reads the window in UTC for a user with no time zone', () => {
    expect(quietHold(lateEvening, 'email', 'normal', night, null)?.toISOString()).toBe('2026-01-15T07:00:00.000Z');
  });

  it('lets through critical messages, the silent channels and users without quiet hours', () => {
    expect(quietHold(lateEvening, 'email', 'critical', night, berlin)).toBeNull();
    expect(quietHold(lateEvening, 'in_app', 'normal', night, berlin)).toBeNull();
    expect(quietHold(lateEvening, 'webhook', 'low', night, berlin)).toBeNull();
    expect(quietHold(lateEvening, 'email', 'normal', null, berlin)).toBeNull();
  });
});
