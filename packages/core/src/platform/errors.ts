/** Every error code the API can answer with. The HTTP status follows from the code alone. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'validation_failed'
  | 'template_too_expensive'
  | 'template_output_too_large'
  | 'idempotency_key_reused'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export function statusOf(code: ErrorCode): 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503 {
  switch (code) {
    case 'invalid_json':
    case 'invalid_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'validation_failed':
    case 'template_too_expensive':
    case 'template_output_too_large':
    case 'idempotency_key_reused':
      return 422;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
    case 'internal':
      return 500;
    default: {
      const unreachable: never = code;
      throw new Error(`unknown error code ${String(unreachable)}`);
    }
  }
}

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error meant for the API client: its code, message and details are shown as they are. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }
  readonly headers: Record<string, string> | undefined;
}

/** The one error body of every HTTP answer (API and worker): {"error": {code, message, details?, request_id}}. */
export function errorBody(err: AppError, requestId: string) {
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), request_id: requestId } };
}

export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}

export function unavailable(what: string): AppError {
  return new AppError('unavailable', `${what} is unavailable; retry shortly`, undefined, { headers: { 'Retry-After': '1' } });
}

const CONNECTION_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|57P01|57P02|57P03|53300|08\d{3})$/;
// From CLUSTERDOWN on: a Redis Cluster in the middle of a failover (no master for a slot yet, or none reachable).
const CONNECTION_MESSAGES =
  /Connection is closed|Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|enableOfflineQueue|Client has encountered a connection error|Can't reach database server|Cannot use a pool after calling end|^CLUSTERDOWN|^TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|Cluster isn't ready/i;

/**
 * A statement PostgreSQL rolled back to break a deadlock (or a serialization
 * conflict): running its transaction again is safe. Batch writers (outcome
 * batches of two channel workers, a batch cancel beside a worker's claim) can
 * meet on the same rows in opposite orders.
 */
export function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Runs `fn` again while PostgreSQL rolls it back for a conflict (isConflict), up to `attempts` times in all. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
    }
  }
}

/**
 * Whether an error means PostgreSQL or Redis could not be reached (as opposed
 * to refusing a query): the work can be retried once they are back. Looks
 * through `cause` chains, where Prisma's driver adapter keeps the pg error.
 */
export function isConnectionError(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { code, message, originalCode } = e as { code?: unknown; message?: unknown; originalCode?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.test(code)) return true;
    if (typeof originalCode === 'string' && CONNECTION_CODES.test(originalCode)) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  }
  return false;
}
