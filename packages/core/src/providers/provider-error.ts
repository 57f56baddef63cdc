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

  constructor(
    message: string,
    options: { code: string; retryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Classifies anything thrown by a provider; unknown errors are retryable (transient until proven otherwise). */
export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(message, { code: 'provider_error', retryable: true, cause: err });
}
