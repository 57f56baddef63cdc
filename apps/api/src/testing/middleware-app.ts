import { createLogger, type Logger } from '@notify/core/platform';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { ApiEnv } from '../context.js';
import { errorResponse, toAppError } from '../errors.js';

/**
 * A tiny app for one middleware's tests, wired as app.ts wires every request:
 * a request id, the request's logger, and the one error shape. Tests add the
 * middleware and a route, then call `app.request()` (no port).
 */
export function middlewareApp(log: Logger = createLogger('silent')): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(async (c, next) => {
    c.set('log', log.child({ request_id: c.get('requestId') }));
    await next();
  });
  app.onError((err, c) => errorResponse(c, toAppError(err, log)));
  return app;
}

/** A log line as a test sees it: the bindings of its logger and child loggers, its fields and its message. */
export type LogLine = Record<string, unknown> & { level: string; msg?: string };

/** A logger that keeps what it is told, for tests that check a log line (pino's child and bindings included). */
export function recordingLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  let own = { ...bindings };
  const write = (level: string) => (obj: unknown, msg?: string) => {
    const fields = typeof obj === 'object' && obj !== null ? obj : { msg: obj };
    lines.push({ ...own, ...fields, level, ...(msg === undefined ? {} : { msg }) });
  };
  const log = {
    lines,
    level: 'info',
    child: (more: Record<string, unknown>) => recordingLogger(lines, { ...own, ...more }),
    setBindings: (more: Record<string, unknown>) => {
      own = { ...own, ...more };
    },
    bindings: () => own,
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
  };
  // Only the methods the API's middleware call are implemented; the rest of pino's surface is never touched.
  return log as unknown as Logger & { lines: LogLine[] };
}

/** Sends `init` to `path` of `app` and returns the status with the parsed JSON body (or null). */
export async function send(app: Hono<ApiEnv>, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : null };
}
