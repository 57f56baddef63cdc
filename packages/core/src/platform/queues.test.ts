import { describe, expect, it } from 'vitest';
import { backoffDelay } from './queues.js';

describe('backoffDelay', () => {
  it('doubles from the base: base, 2×base, 4×base, ... (BullMQ counts the first retry as attempt 1)', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 1000, undefined, 60_000))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelay(3, 250, undefined, 60_000)).toBe(1000);
  });

  it("waits as long as the provider's Retry-After says, up to the cap", () => {
    expect(backoffDelay(1, 1000, 7000, 60_000)).toBe(7000);
    expect(backoffDelay(5, 1000, 3_600_000, 60_000)).toBe(60_000);
    // "Come back now" is honoured, not treated as missing.
    expect(backoffDelay(4, 1000, 0, 60_000)).toBe(0);
  });

  it('ignores a negative Retry-After and backs off exponentially instead', () => {
    expect(backoffDelay(2, 1000, -5, 60_000)).toBe(2000);
  });
});
