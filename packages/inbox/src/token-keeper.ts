import type { TokenProvider } from './types.js';

/** Renew a token this long before it expires, or a fifth of its remaining life when that is shorter. */
const REFRESH_MARGIN_MS = 60_000;
/** Never sooner than this: a browser clock far ahead of the server's must not make refreshes spin. */
const MIN_REFRESH_DELAY_MS = 5_000;
/** A failed background refresh is tried again after 5 s, 10 s, 20 s... up to 5 minutes. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 300_000;
/** setTimeout's largest delay (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The `exp` claim of a JWT, in ms since the epoch; null when the token is not a JWT with one. Checking it is the server's job. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** How long to wait before renewing a token that expires at `expiresAt` (ms since the epoch). */
export function refreshDelay(expiresAt: number, now: number): number {
  const left = expiresAt - now;
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_DELAY_MS, left - Math.min(REFRESH_MARGIN_MS, left / 5)));
}

/** How long to wait before trying a failed refresh again, after `failures` failures in a row. */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/**
 * Holds the current user token and renews it through `getToken`: on a
 * timer shortly before it expires, and on demand (a 401). Concurrent
 * demands share one call of `getToken`.
 */
export class TokenKeeper {
  private token: string;
  private pending: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    token: string,
    private readonly getToken?: TokenProvider,
  ) {
    this.token = token;
    this.schedule(this.delayForCurrent());
  }

  get current(): string {
    return this.token;
  }

  get renewable(): boolean {
    return this.getToken !== undefined;
  }

  /** A new token from getToken (rejects when there is none). */
  refresh(): Promise<string> {
    const getToken = this.getToken;
    if (!getToken) return Promise.reject(new Error('The token cannot be renewed: no getToken was given'));
    if (!this.pending) {
      this.pending = getToken()
        .then(
          (token) => {
            this.token = token;
            this.failures = 0;
            this.schedule(this.delayForCurrent());
            return token;
          },
          (err: unknown) => {
            this.failures++;
            this.schedule(retryDelay(this.failures));
            throw err;
          },
        )
        .finally(() => {
          this.pending = null;
        });
    }
    return this.pending;
  }

  /** Cancels the timer; the keeper renews nothing after. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private delayForCurrent(): number | null {
    const exp = tokenExpiry(this.token);
    return exp === null ? null : refreshDelay(exp, Date.now());
  }

  private schedule(delay: number | null): void {
    clearTimeout(this.timer);
    if (this.stopped || !this.getToken || delay === null) return;
    // A failed background refresh is retried by the rejection handler above.
    this.timer = setTimeout(() => void this.refresh().catch(() => {}), delay);
  }
}
