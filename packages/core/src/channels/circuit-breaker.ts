export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before letting one trial call through. */
  cooldownMs: number;
  now?: () => number;
}

/**
 * A circuit breaker for one provider, in one worker process. Closed: calls go
 * through. After `failureThreshold` failures in a row it opens: calls are
 * skipped (the chain moves on to the next provider) for `cooldownMs`. Then it
 * half-opens: one call is let through; success closes it, failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly opts: BreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.opts.cooldownMs ? 'half_open' : 'open';
  }

  /** How long until an open breaker lets a trial through (0 when it would now). */
  msUntilTrial(): number {
    if (this.openedAt === null) return 0;
    return Math.max(0, this.opts.cooldownMs - (this.now() - this.openedAt));
  }

  /** Whether a call may go through now; in half-open state only one at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = null;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.openedAt !== null || this.failures >= this.opts.failureThreshold) this.openedAt = this.now();
  }
}
