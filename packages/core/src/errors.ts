/** Every error code the API can answer with. The HTTP status follows from the code alone. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export function statusOf(code: ErrorCode): 400 | 401 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503 {
  switch (code) {
    case 'invalid_json':
    case 'invalid_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'validation_failed':
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

export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}
