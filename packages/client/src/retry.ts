/** How a client retries: bounded attempts and a bounded total wait. */
export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  retries?: number;
  /** The wait before retry n when the answer names none: baseDelayMs × 2^n, jittered (default 200). */
  baseDelayMs?: number;
  /** The most one wait may be, Retry-After included (default 30 000): a longer Retry-After answers as is. */
  maxDelayMs?: number;
  /** The most all waits of one request may add up to (default 60 000): past it the last answer is returned. */
  maxTotalWaitMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 200, maxDelayMs: 30_000, maxTotalWaitMs: 60_000 };

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** The wait a Retry-After header asks for (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff, jittered between half and all of it, for answers that name no wait and for network errors. */
export function backoffMs(retry: number, policy: RetryPolicy, random = Math.random): number {
  return Math.round(policy.baseDelayMs * 2 ** retry * (0.5 + random() / 2));
}

/**
 * Whether an answer is worth another attempt: 429 (refused before any work)
 * and 503 (PostgreSQL or Redis unavailable) always; 409 with Retry-After only
 * for a keyed request, whose first attempt is still in flight.
 */
export function isRetryableStatus(status: number, headers: Headers, keyed: boolean): boolean {
  return status === 429 || status === 503 || (status === 409 && keyed && headers.has('retry-after'));
}

/**
 * A fetch that retries what isRetryableStatus allows, waiting what Retry-After
 * says. A network error is retried only for a request that is safe to repeat:
 * an idempotent method, or one carrying an Idempotency-Key (the same key on
 * every attempt, since the same Request is cloned).
 */
export function retryingFetch(fetch: (request: Request) => Promise<Response>, policy: RetryPolicy, sleep: (ms: number) => Promise<void> = defaultSleep) {
  return async (request: Request): Promise<Response> => {
    const keyed = request.headers.has('idempotency-key');
    const repeatable = keyed || IDEMPOTENT_METHODS.has(request.method);
    let waited = 0;
    for (let retry = 0; ; retry++) {
      const last = retry >= policy.retries;
      let wait: number;
      let response: Response;
      try {
        response = await fetch(request.clone());
      } catch (err) {
        wait = backoffMs(retry, policy);
        if (!repeatable || last || waited + wait > policy.maxTotalWaitMs) throw err;
        await sleep(wait);
        waited += wait;
        continue;
      }
      if (last || !isRetryableStatus(response.status, response.headers, keyed)) return response;
      wait = parseRetryAfter(response.headers.get('retry-after')) ?? backoffMs(retry, policy);
      if (wait > policy.maxDelayMs || waited + wait > policy.maxTotalWaitMs) return response;
      // An unread body holds its connection until it is collected.
      await response.body?.cancel();
      await sleep(wait);
      waited += wait;
    }
  };
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
