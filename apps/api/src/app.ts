import type { OpenAPIHono } from '@hono/zod-openapi';
import { notFound, type ChannelQueues, type Db, type Logger, type Redis, type RetryPolicy, type WebhookPolicy } from '@notify/core';
import { requestId } from 'hono/request-id';
import { bullBoard, BULL_BOARD_PATH } from './bull-board.js';
import { newRouter, type ApiEnv } from './context.js';
import { errorResponse, toAppError } from './errors.js';
import { accessLog } from './middleware/access-log.js';
import { tenant } from './middleware/tenant.js';
import { healthRoutes } from './routes/health.js';
import type { InboxHub } from './inbox-hub.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { inboxRoutes } from './routes/inbox.js';
import { notificationRoutes } from './routes/notifications.js';
import { userRoutes } from './routes/users.js';

export interface AppDeps {
  db: Db;
  queues: ChannelQueues;
  /** The producer connection (fails fast); used for readiness. */
  redis: Redis;
  log: Logger;
  retry: RetryPolicy;
  idempotencyTtlSeconds: number;
  /** SSRF policy for users' webhook URLs. */
  webhooks: WebhookPolicy;
  /** Live inbox streams (Redis pub/sub). */
  hub: InboxHub;
}

/** The HTTP API, with no I/O of its own: main.ts passes the connections in. */
export function createApp(deps: AppDeps): OpenAPIHono<ApiEnv> {
  const app = newRouter();
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(accessLog(deps.log));
  app.onError((err, c) => errorResponse(c, toAppError(err, c.get('log') ?? deps.log)));
  app.notFound((c) => errorResponse(c, notFound(`Route ${c.req.method} ${c.req.path}`)));

  app.route('/', healthRoutes(deps));
  app.route(BULL_BOARD_PATH, bullBoard(deps.queues));

  app.use('/notifications/*', tenant());
  app.use('/notifications', tenant());
  app.use('/users/*', tenant());
  app.use('/deliveries/*', tenant());
  app.use('/deliveries', tenant());
  app.route('/notifications', notificationRoutes(deps));
  app.route('/users', userRoutes(deps));
  app.route('/users', inboxRoutes(deps));
  app.route('/deliveries', deliveryRoutes(deps));
  return app;
}
