import type { components } from './generated/api.js';

type ErrorBody = components['schemas']['Error'];
export type ErrorDetail = NonNullable<ErrorBody['error']['details']>[number];

/**
 * An error answer of the API, in its one error shape
 * (`{ error: { code, message, details?, request_id } }`). An answer not in
 * that shape (a proxy's HTML page, say) gets the code `unexpected_response`.
 */
export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  /** The HTTP status. */
  readonly status: number;
  /** The API's error code, e.g. `validation_failed`, `rate_limited`, `idempotency_key_reused`. */
  readonly code: string;
  /** Per-field problems of a 422 (`path`, `message`); empty otherwise. */
  readonly details: ErrorDetail[];
  /** The request id to quote to the operator (X-Request-Id), when the API named one. */
  readonly requestId: string | undefined;

  constructor(status: number, body: unknown, requestId?: string | null) {
    const error = isErrorBody(body) ? body.error : undefined;
    super(error?.message ?? `the API answered ${status} without its error body`);
    this.status = status;
    this.code = error?.code ?? 'unexpected_response';
    this.details = error?.details ?? [];
    this.requestId = error?.request_id ?? requestId ?? undefined;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = body.error;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && 'message' in error && typeof error.message === 'string';
}
