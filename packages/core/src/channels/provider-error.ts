/**
 * Why a provider refused an address for good: a hard bounce (SMTP 5xx to RCPT
 * TO), the recipient texted STOP (Twilio 21610), an invalid number (21211), a
 * push token the service no longer knows. The address is then suppressed
 * (see suppressions/).
 */
export const SUPPRESSION_REASONS = ['hard_bounce', 'unsubscribed', 'invalid_address', 'unregistered'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface ProviderErrorOptions {
  /** Short machine-readable reason, recorded as the delivery's last_error.code. */
  code: string;
  retryable: boolean;
  /** When the provider said to come back (Retry-After), in ms. */
  retryAfterMs?: number;
  /** The provider is throttling us (429): slow the whole queue down, do not spend an attempt. */
  rateLimited?: boolean;
  /** The address no longer exists (push token unregistered, webhook 410): forget it. */
  gone?: boolean;
  /** No provider was called (every breaker open): try again later without spending an attempt. */
  notAttempted?: boolean;
  /** The address is refused for good: suppress it. Push tokens reported `gone` are suppressed as `unregistered` without it. */
  suppress?: SuppressionReason;
  cause?: unknown;
}

/**
 * A provider's failure, classified. Permanent errors (bad address, unregistered
 * token, SMTP 5xx) end the delivery at once; retryable ones use the backoff,
 * or the provider's own Retry-After when it gave one.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly rateLimited: boolean;
  readonly gone: boolean;
  readonly notAttempted: boolean;
  readonly suppress: SuppressionReason | undefined;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimited = options.rateLimited ?? false;
    this.gone = options.gone ?? false;
    this.notAttempted = options.notAttempted ?? false;
    this.suppress = options.suppress;
  }
}

/** Classifies anything thrown by a provider; unknown errors are retryable (transient until proven otherwise). */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(message, { code: 'provider_error', retryable: true, cause: err });
}

/** Node's error code (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`...) of a thrown error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Parses an HTTP Retry-After header (seconds or an HTTP date) into ms; of a repeated header, the first. */
export function parseRetryAfter(header: string | string[] | null | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A copy of a provider's error with `redact` applied to its message and stack,
 * keeping only the given fields: pino prints a cause's message and stack, and
 * the original may hold a recipient's address, the request or the raw reply.
 */
export function scrubbedError(err: Error, redact: (text: string) => string, fields: Record<string, unknown>): Error {
  const copy = new Error(redact(err.message));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : redact(err.stack);
  return Object.assign(copy, fields);
}
