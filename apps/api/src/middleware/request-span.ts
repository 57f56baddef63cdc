import { ATTR, contextOf, SpanKind, SpanStatusCode, traceparentOf, type Tracer } from '@notify/core/observability';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

/**
 * The span of a request that accepts notifications (tracing on only): the
 * root of each notification's trace, unless the caller sent a W3C
 * `traceparent` of its own. Its traceparent goes into the notifications'
 * jobs; the route adds the ids it made. Method, route, status and request id
 * only: no header, query or body is recorded.
 */
export function requestSpan(tracer: Tracer): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const route = c.req.path;
    const span = tracer.startSpan(
      `POST ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': route, [ATTR.requestId]: c.get('requestId') } },
      contextOf(c.req.header('traceparent')),
    );
    c.set('span', span);
    c.set('traceparent', traceparentOf(span));
    try {
      await next();
    } finally {
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
