// Tracing: the process's OpenTelemetry tracer (or null when tracing is off) and the W3C traceparent
// that carries a trace from the API's request through a delivery job into the worker.
import { ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import type { Env } from '../platform/env.js';
import type { Logger } from '../platform/logger.js';

// What the apps need of the OpenTelemetry API, so they depend on it only through core.
export { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';

/** Our span attributes: ids and outcomes only, never contact details or content. */
export const ATTR = {
  notificationId: 'notify.notification_id',
  notificationIds: 'notify.notification_ids',
  batchId: 'notify.batch_id',
  deliveryId: 'notify.delivery_id',
  requestId: 'notify.request_id',
  channel: 'notify.channel',
  provider: 'notify.provider',
  attempt: 'notify.attempt',
  outcome: 'notify.outcome',
} as const;

export interface Tracing {
  tracer: Tracer;
  /** Exports the spans still buffered, then stops (a closer for closeOnSignals); never throws. */
  shutdown(): Promise<void>;
}

/**
 * On when OTEL_TRACES_EXPORTER is `otlp`, or unset with an OTLP endpoint
 * given; off by default (the spec's default exporter is otlp, but a service
 * that sends spans to localhost:4318 unasked is a surprise), and off with
 * `none` or OTEL_SDK_DISABLED=true.
 */
export function tracingEnabled(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === 'none') return false;
  if (env.OTEL_TRACES_EXPORTER === 'otlp') return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * The process's tracer, exporting over OTLP/HTTP (JSON) in batches, or null
 * when tracing is off: then callers create no spans at all. No context
 * manager is registered: spans get their parent explicitly, which keeps
 * AsyncLocalStorage off the hot path.
 */
export async function startTracing(env: Env, service: string, log: Logger): Promise<Tracing | null> {
  if (!tracingEnabled(env)) return null;
  // Loaded only when on: a process with tracing off never loads the SDK.
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BasicTracerProvider, BatchSpanProcessor }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? service }),
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS and _TIMEOUT itself.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  log.info({ service: env.OTEL_SERVICE_NAME ?? service }, 'tracing on: exporting spans over OTLP/HTTP');
  return {
    tracer: provider.getTracer('notify'),
    // A collector that is away must not stop the closers after this one.
    shutdown: () => provider.shutdown().catch((err: unknown) => log.warn({ err }, 'could not export the last spans')),
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of a span, for a job to carry. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** The context a job's `traceparent` names as parent; a root context when it is absent or malformed. */
export function contextOf(traceparent: string | undefined): Context {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!m) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16), isRemote: true });
}

/** A span's parent and the tracer that makes the children, as the provider chain gets it. */
export interface SpanParent {
  tracer: Tracer;
  context: Context;
}

/**
 * A child span of `parent` around `fn`. A throw is recorded (outcome from
 * `outcomeOf`, else `error`; its code or name as `error.type`, never its
 * message, which may quote an address) and rethrown.
 */
export async function inSpan<T>(parent: SpanParent, name: string, options: SpanOptions, fn: (span: Span) => Promise<T>, outcomeOf?: (err: unknown) => string): Promise<T> {
  const span = parent.tracer.startSpan(name, options, parent.context);
  try {
    return await fn(span);
  } catch (err) {
    const outcome = outcomeOf?.(err) ?? 'error';
    const code = (err as { code?: unknown }).code;
    span.setAttributes({ [ATTR.outcome]: outcome, 'error.type': typeof code === 'string' ? code : (err as Error).name });
    // A job put back to wait (quiet hours, a pause, open breakers) did not fail.
    if (outcome !== 'delayed') span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/** The context for the children of `span`. */
export function childOf(parent: SpanParent, span: Span): SpanParent {
  return { tracer: parent.tracer, context: trace.setSpan(parent.context, span) };
}
