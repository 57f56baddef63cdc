import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import { contextOf, startTracing, tracingEnabled } from './tracing.js';

const enabled = (vars: Record<string, string>) => tracingEnabled(loadEnv(vars));

describe('tracingEnabled', () => {
  it('is off by default, and then no tracer exists (callers make no spans and no traceparent)', async () => {
    expect(enabled({})).toBe(false);
    expect(await startTracing(loadEnv({}), 'notify-api', createLogger('silent'))).toBeNull();
  });

  it('is on with OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint', () => {
    expect(enabled({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(enabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(enabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
  });

  it('stays off with an empty endpoint, OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true', () => {
    expect(enabled({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false);
    expect(enabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(false);
    expect(enabled({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });

  it('refuses an exporter it does not have rather than silently sending nothing', () => {
    expect(() => loadEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
});

describe('contextOf', () => {
  it("parents a job's span on its traceparent", () => {
    const parent = trace.getSpanContext(contextOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'));
    expect(parent).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
  });

  it('starts a new trace for a job without one or with a malformed one', () => {
    expect(contextOf(undefined)).toBe(ROOT_CONTEXT);
    expect(contextOf('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(ROOT_CONTEXT);
    expect(contextOf('00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01')).toBe(ROOT_CONTEXT);
  });
});
