import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { refreshDelay, retryDelay, TokenKeeper, tokenExpiry } from './token-keeper.js';

/** An unsigned JWT with these claims (the keeper reads `exp`; the server checks signatures). */
const jwt = (claims: Record<string, unknown>) => `eyJhbGciOiJIUzI1NiJ9.${btoa(JSON.stringify(claims)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.sig`;
const at = (iso: string) => new Date(iso).getTime();

describe('tokenExpiry', () => {
  it('reads exp from a JWT, in milliseconds', () => {
    expect(tokenExpiry(jwt({ sub: 'u1', exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
  });

  it('decodes base64url payloads that need - and _ and padding', () => {
    // This payload's base64 has '+', '/' and '=' padding: its JWT form has '-', '_' and no padding.
    const token = jwt({ sub: '~~~??>>>', exp: 1 });
    expect(token).toMatch(/-.*_|_.*-/);
    expect(tokenExpiry(token)).toBe(1000);
  });

  it.each([
    ['not a JWT', 'opaque-token'],
    ['a payload that is not JSON', 'a.bm90IGpzb24.c'],
    ['no exp', jwt({ sub: 'u1' })],
    ['a string exp', jwt({ exp: '1900000000' })],
  ])('is null for %s', (_, token) => {
    expect(tokenExpiry(token)).toBeNull();
  });
});

describe('refreshDelay', () => {
  const now = at('2026-12-01T12:00:00Z');
  it('renews an hour-long token a minute before it expires', () => {
    expect(refreshDelay(now + 3_600_000, now)).toBe(3_540_000);
  });

  it('renews a short token when a fifth of its life is left', () => {
    expect(refreshDelay(now + 100_000, now)).toBe(80_000);
  });

  it('waits at least 5 s, even for a token already expired by this clock', () => {
    expect(refreshDelay(now + 2_000, now)).toBe(5_000);
    expect(refreshDelay(now - 60_000, now)).toBe(5_000);
  });

  it('never asks setTimeout for more than it can wait', () => {
    expect(refreshDelay(now + 90 * 86_400_000, now)).toBe(2 ** 31 - 1);
  });
});

describe('retryDelay', () => {
  it('doubles from 5 s up to 5 minutes', () => {
    expect([1, 2, 3, 4, 7, 20].map(retryDelay)).toEqual([5_000, 10_000, 20_000, 40_000, 300_000, 300_000]);
  });
});

describe('TokenKeeper', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(at('2026-12-01T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  const hourToken = (n: number) => jwt({ n, exp: Math.floor(Date.now() / 1000) + 3600 });

  it('renews a minute before expiry, and again before the new token expires', async () => {
    const issued: string[] = [];
    const getToken = vi.fn(async () => {
      issued.push(hourToken(issued.length + 1));
      return issued.at(-1)!;
    });
    const keeper = new TokenKeeper(hourToken(0), getToken);
    await vi.advanceTimersByTimeAsync(3_539_000);
    expect(getToken).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(keeper.current).toBe(issued[0]);
    expect(tokenExpiry(keeper.current)).toBe(Date.now() + 3_600_000);
    await vi.advanceTimersByTimeAsync(3_540_000);
    expect(getToken).toHaveBeenCalledTimes(2);
    keeper.stop();
  });

  it('shares one getToken call between concurrent refreshes', async () => {
    const getToken = vi.fn(async () => 'fresh');
    const keeper = new TokenKeeper('stale', getToken);
    const tokens = await Promise.all([keeper.refresh(), keeper.refresh(), keeper.refresh()]);
    expect(tokens).toEqual(['fresh', 'fresh', 'fresh']);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(keeper.current).toBe('fresh');
    await keeper.refresh();
    expect(getToken).toHaveBeenCalledTimes(2);
  });

  it('retries a failed background refresh after 5 s, then 10 s, keeping the old token meanwhile', async () => {
    const token = jwt({ exp: Math.floor(Date.now() / 1000) + 100 });
    const getToken = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('backend down')).mockRejectedValueOnce(new Error('backend down')).mockResolvedValue('fresh');
    const keeper = new TokenKeeper(token, getToken);
    await vi.advanceTimersByTimeAsync(80_000);
    expect(getToken).toHaveBeenCalledTimes(1);
    expect(keeper.current).toBe(token);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(getToken).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(getToken).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(getToken).toHaveBeenCalledTimes(3);
    expect(keeper.current).toBe('fresh');
  });

  it('schedules nothing without getToken, and refresh() rejects', async () => {
    const keeper = new TokenKeeper(hourToken(0));
    expect(keeper.renewable).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await expect(keeper.refresh()).rejects.toThrow(/no getToken/);
  });

  it('renews nothing after stop()', async () => {
    const getToken = vi.fn(async () => hourToken(1));
    new TokenKeeper(hourToken(0), getToken).stop();
    await vi.advanceTimersByTimeAsync(4_000_000);
    expect(getToken).not.toHaveBeenCalled();
  });
});
