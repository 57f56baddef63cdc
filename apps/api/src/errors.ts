import { AppError, errorBody, isConnectionError, statusOf, unavailable, type ErrorCode, type ErrorDetail, type Logger } from '@notify/core/platform';
import { isNotFoundIssue } from '@notify/core/schemas';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';

/** The one error body, with the request's id. */
export function errorResponse(c: Context, err: AppError): Response {
  return c.json(errorBody(err, c.get('requestId') ?? ''), statusOf(err.code), err.headers);
}

/** Zod issues as `details`, with paths like `channels.1`. */
export function validationError(error: z.ZodError): AppError {
  // A malformed id in a path names nothing we have: 404, as for a well-formed unknown one.
  if (error.issues.some(isNotFoundIssue)) return new AppError('not_found', 'Nothing has this id: ids are UUIDs');
  const details: ErrorDetail[] = error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
  return new AppError('validation_failed', 'The request is not valid', details);
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Maps anything thrown in a handler to the error shape; unknown errors are logged and hidden. */
export function toAppError(err: unknown, log: Logger): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 400) {
      const malformed = /JSON/i.test(err.message);
      return new AppError(malformed ? 'invalid_json' : 'invalid_request', malformed ? 'The body is not valid JSON' : err.message);
    }
    const code = HTTP_CODES[err.status];
    if (code) return new AppError(code, err.message || code);
  }
  if (isConnectionError(err)) return unavailable('PostgreSQL or Redis');
  log.error({ err }, 'unhandled error');
  return new AppError('internal', 'Internal error');
}
