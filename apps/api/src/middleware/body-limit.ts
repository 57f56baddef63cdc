import { AppError } from '@notify/core/platform';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';
import type { ApiEnv } from '../context.js';

/**
 * 413 for a body over `maxBytes`, before it is read. A request that declares
 * its length (every JSON client does) is judged by its Content-Length header
 * alone: Hono's own bodyLimit touches `req.raw.body`, which makes the Node
 * adapter build a full web Request with streams for every request, a tenth
 * of the API's CPU under load. Chunked bodies go through Hono's counting
 * stream. Node's HTTP parser already refuses a body longer than its
 * Content-Length, so the header cannot understate it.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler<ApiEnv> {
  const tooLarge = (): never => {
    throw new AppError('payload_too_large', `The body is over ${maxBytes} bytes`);
  };
  const streaming = streamingBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(declared) > maxBytes) tooLarge();
      return next();
    }
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return streaming(c, next);
  };
}
