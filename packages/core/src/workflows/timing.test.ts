import { describe, expect, it } from 'vitest';
import { nextTimeOfDay, waitEnd } from './timing.js';

describe('nextTimeOfDay', () => {
  it("is today's time when it is still ahead in the user's zone, else tomorrow's", () => {
    // 07:30 in Paris (UTC+1 in December).
    const now = new Date('2026-12-01T06:30:00Z');
    expect(nextTimeOfDay(now, '09:00', 'Europe/Paris').toISOString()).toBe('2026-12-01T08:00:00.000Z');
    expect(nextTimeOfDay(now, '07:00', 'Europe/Paris').toISOString()).toBe('2026-12-02T06:00:00.000Z');
    // Exactly now is not ahead: the next one is tomorrow's.
    expect(nextTimeOfDay(now, '07:30', 'Europe/Paris').toISOString()).toBe('2026-12-02T06:30:00.000Z');
  });

  it('uses UTC without a zone, or with one luxon does not know', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(nextTimeOfDay(now, '09:00', null).toISOString()).toBe('2026-12-02T09:00:00.000Z');
    expect(nextTimeOfDay(now, '11:15', 'Not/AZone').toISOString()).toBe('2026-12-01T11:15:00.000Z');
  });

  it('keeps the wall-clock time across a daylight-saving change', () => {
    // The night Paris moves to summer time (2027-03-28, 02:00 -> 03:00).
    const now = new Date('2027-03-27T20:00:00Z');
    expect(nextTimeOfDay(now, '09:00', 'Europe/Paris').toISOString()).toBe('2027-03-28T07:00:00.000Z');
  });
});

describe('waitEnd', () => {
  it('adds a duration, or goes to the next time of day', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(waitEnd(now, { duration: '15m' }, null).toISOString()).toBe('2026-12-01T10:15:00.000Z');
    expect(waitEnd(now, { duration: '1d' }, 'Europe/Paris').toISOString()).toBe('2026-12-02T10:00:00.000Z');
    expect(waitEnd(now, { until: '12:00' }, 'Asia/Tokyo').toISOString()).toBe('2026-12-02T03:00:00.000Z');
  });
});
