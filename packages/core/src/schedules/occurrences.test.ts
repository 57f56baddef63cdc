import { describe, expect, it } from 'vitest';
import { EARLIEST_ZONE, nextOccurrences, sameWallClock, scheduleTimingProblems } from './occurrences.js';

describe('occurrences', () => {
  it('reads the cron expression in its zone, across a daylight-saving change', () => {
    // Paris leaves summer time on 25 October 2026: 09:00 is 07:00Z before, 08:00Z after.
    const at = nextOccurrences('0 9 * * *', 'Europe/Paris', new Date('2026-10-24T00:00:00Z'), 3).map((d) => d.toISOString());
    expect(at).toEqual(['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z']);
  });

  it('takes 6 fields (seconds first)', () => {
    const at = nextOccurrences('*/2 * * * * *', 'UTC', new Date('2026-12-01T00:00:00.500Z'), 2).map((d) => d.toISOString());
    expect(at).toEqual(['2026-12-01T00:00:02.000Z', '2026-12-01T00:00:04.000Z']);
  });

  it('finds the same wall-clock time in another zone, later than in the earliest zone', () => {
    const kiritimati = new Date('2026-12-06T19:00:00Z'); // Monday 09:00 there
    expect(sameWallClock(kiritimati, EARLIEST_ZONE, 'Europe/Paris').toISOString()).toBe('2026-12-07T08:00:00.000Z');
    expect(sameWallClock(kiritimati, EARLIEST_ZONE, 'Pacific/Pago_Pago').toISOString()).toBe('2026-12-07T20:00:00.000Z');
    expect(sameWallClock(kiritimati, EARLIEST_ZONE, EARLIEST_ZONE)).toEqual(kiritimati);
  });

  it.each([
    ['0 9 * * 1', 'Europe/Paris', []],
    ['0 9 * * 1', 'user', []],
    ['@daily', 'UTC', []],
    ['0 9 * * 1', 'Europe/Nowhere', ['timezone']],
    ['0 9 * *', 'UTC', ['cron']],
    ['0 25 * * *', 'UTC', ['cron']],
    ['0 0 31 2 *', 'UTC', ['cron']],
    ['* * * * * * *', 'UTC', ['cron']],
  ])('%s in %s: problems at %j', (cron, zone, paths) => {
    expect(scheduleTimingProblems(cron, zone).map((p) => p.path)).toEqual(paths);
  });
});
