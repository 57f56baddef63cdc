import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { AppError, errorBody, statusOf, type ErrorDetail, type Logger } from '@notify/core/platform';
import { Hono, type Context } from 'hono';
import { requestId } from 'hono/request-id';
import type { Registry } from 'prom-client';

type WorkerHttpEnv = { Variables: { requestId: string } };

export interface WorkerHttpDeps {
  /** Why the process is not ready; none when it is. */
  readiness: () => Promise<ErrorDetail[]>;
  metrics: Registry;
  log: Logger;
}

const fail = (c: Context<WorkerHttpEnv>, err: AppError) => c.json(errorBody(err, c.get('requestId')), statusOf(err.code));

/**
 * A worker's operations endpoints, answering as the API's do: /health
 * (liveness: the event loop answers, nothing else is checked), /ready (200,
 * or 503 in the one error shape with a detail per failed check) and /metrics
 * (Prometheus text, this process only). No credentials: the port serves
 * nothing else and carries no tenant data (README "Worker endpoints").
 */
export function workerHttpApp(deps: WorkerHttpDeps): Hono<WorkerHttpEnv> {
  const app = new Hono<WorkerHttpEnv>();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.onError((err, c) => {
    deps.log.error({ err }, 'unhandled error');
    return fail(c, new AppError('internal', 'Internal error'));
  });
  app.notFound((c) => fail(c, new AppError('not_found', `Route ${c.req.method} ${c.req.path} not found`)));
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const failures = await deps.readiness();
    if (failures.length > 0) return fail(c, new AppError('unavailable', 'Not ready', failures));
    return c.json({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', workers: 'ok' } });
  });
  app.get('/metrics', async (c) => c.text(await deps.metrics.metrics(), 200, { 'content-type': deps.metrics.contentType }));
  return app;
}

/**
 * Listens on WORKER_HTTP_PORT at HOST (0: any free port). A port already
 * taken stops the process at start, naming it: a worker an orchestrator
 * cannot probe would be restarted forever or never seen.
 */
export async function serveWorkerHttp(app: Hono<WorkerHttpEnv>, o: { port: number; host: string; log: Logger }): Promise<{ port: number; close(): Promise<void> }> {
  const server = serve({ fetch: app.fetch, port: o.port, hostname: o.host });
  try {
    // once() rejects when 'error' comes first.
    await once(server, 'listening');
  } catch (err) {
    const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    o.log.fatal({ err }, `refusing to start: WORKER_HTTP_PORT ${o.port} on ${o.host} ${taken ? 'is taken: give each worker on a host its own port' : 'cannot be listened on'}`);
    process.exit(1);
  }
  const { port } = server.address() as AddressInfo;
  o.log.info({ port }, 'worker http listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep idle connections open; they must not hold the exit.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}
