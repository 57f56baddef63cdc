import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

function breaker() {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: () => now });
  return { b, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { b } = breaker();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('counts only consecutive failures', () => {
    const { b } = breaker();
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
  });

  it('half-opens after the cool-down and lets exactly one trial through', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
  });

  it('closes when the trial succeeds, reopens for another cool-down when it fails', () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failure();
    advance(1000);
    b.tryAcquire();
    b.failure();
    expect(b.state).toBe('open');
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });
});

describe('CircuitBreaker, cases the mutation run found', () => {
  it('lets any number of calls through at once while closed (only a half-open breaker limits to one)', () => {
    const { b } = breaker();
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, true]);
    b.failure();
    expect([b.tryAcquire(), b.tryAcquire()]).toEqual([true, true]);
  });

  it('says how long until the trial: 0 when closed, the rest of the cool-down when open, never negative', () => {
    const { b, advance } = breaker();
    expect(b.msUntilTrial()).toBe(0);
    // Opened at a clock reading other than 0, so "now - opened" is not "now + opened".
    advance(250);
    for (let i = 0; i < 3; i++) b.failure();
    expect(b.msUntilTrial()).toBe(1000);
    advance(300);
    expect(b.msUntilTrial()).toBe(700);
    advance(700);
    expect(b.msUntilTrial()).toBe(0);
    advance(5000);
    expect(b.msUntilTrial()).toBe(0);
  });
});
