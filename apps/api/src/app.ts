import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  createSchedulesQueue,
  notFound,
  type ChannelQueues,
  type Db,
  type FanoutJob,
  type Logger,
  type Redis,
  type RetryPolicy,
  type StatusEventJob,
  type WorkflowStepJob,
} from '@notify/core/platform';
import { withWriter } from '@notify/core/notifications';
import type { WebhookPolicy } from '@notify/core/audience';
import type { Telemetry, Tracer } from '@notify/core/observability';
import type { Queue } from 'bullmq';
import { requestId } from 'hono/request-id';
import { bullBoard, BULL_BOARD_PATH } from './bull-board.js';
import { adminChannelRoutes, ADMIN_CHANNELS_PATH } from './admin-channels.js';
import { adminAuditRoutes, ADMIN_AUDIT_PATH } from './admin-audit.js';
import { adminRetentionRoutes, ADMIN_RETENTION_PATH } from './admin-retention.js';
import type { ApiEnv } from './context.js';
import { newRouter } from './router.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { inboxClientAssets, inboxDemoRoutes, INBOX_CLIENT_PATH, INBOX_DEMO_PATH } from './inbox-demo/routes.js';
import { mountDocs } from './docs.js';
import { createMetrics } from './metrics.js';
import { errorResponse, toAppError } from './errors.js';
import { accessLog } from './middleware/access-log.js';
import { adminAuth } from './middleware/admin-auth.js';
import { apiKeyAuth, type KeyCache } from './middleware/api-key-auth.js';
import { AuthThrottle } from './middleware/auth-throttle.js';
import { sameOrigin } from './middleware/same-origin.js';
import { CorsOrigins, userCors } from './middleware/user-cors.js';
import { bodyLimit } from './middleware/body-limit.js';
import { requestSpan } from './middleware/request-span.js';
import { jsonGuard } from './middleware/input-guard.js';
import { rateLimit } from './middleware/rate-limit.js';
import { healthRoutes } from './routes/health.js';
import type { InboxHub } from './inbox-hub.js';
import { auditRoutes } from './routes/audit.js';
import { batchRoutes } from './routes/batches.js';
import { categoryRoutes } from './routes/categories.js';
import { corsRoutes } from './routes/cors.js';
import { appPauseRoutes, keyedPauseRoutes } from './routes/pauses.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { inboxRoutes } from './routes/inbox.js';
import { keyRoutes } from './routes/keys.js';
import { notificationRoutes } from './routes/notifications.js';
import { scheduleRoutes } from './routes/schedules.js';
import { templateRoutes } from './routes/templates.js';
import { topicRoutes } from './routes/topics.js';
import { webhookRoutes } from './routes/webhooks.js';
import { workflowRoutes } from './routes/workflows.js';
import { workflowTriggerRoutes } from './routes/workflow-trigger.js';
import { userWorkflowRunRoutes, workflowRunRoutes, workflowRunsOfWorkflowRoutes } from './routes/workflow-runs.js';
import { providerReceiptRoutes, type TwilioReceiptSettings } from './routes/provider-receipts.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { userRoutes } from './routes/users.js';
import { userTokenRoutes } from './routes/user-tokens.js';

export interface AppDeps {
  db: Db;
  queues: ChannelQueues;
  /** Topic fan-out jobs. */
  fanout: Queue<FanoutJob>;
  /** Status webhook events (a cancel can complete a notification). */
  events: Queue<StatusEventJob>;
  /** Workflow run steps (a trigger adds each run's first). */
  workflows: Queue<WorkflowStepJob>;
  /** The producer connection (fails fast); used for readiness. */
  redis: Redis;
  log: Logger;
  retry: RetryPolicy;
  idempotencyTtlSeconds: number;
  /** FANOUT_CONFIRM_THRESHOLD, default 10,000: larger mass sends need `confirm_recipients`. */
  fanoutConfirmThreshold?: number;
  /** SSRF policy for users' webhook URLs. */
  webhooks: WebhookPolicy;
  /** Live inbox streams (Redis pub/sub). */
  hub: InboxHub;
  /** API keys known to this replica. */
  keys: KeyCache;
  /** Counts accepted deliveries for the dashboard. */
  telemetry?: Telemetry;
  /** Set when tracing is on: requests that accept notifications get a span. */
  tracer?: Tracer | undefined;
  /** BullMQ key prefix (the workers' metrics live under it). */
  queuePrefix: string;
  /** Twilio status callbacks (POST /providers/twilio/status); none configured: all are refused. */
  twilioReceipts?: TwilioReceiptSettings;
  /** UNSUBSCRIBE_SECRET, which signs the unsubscribe links; empty: every link is unknown (404). */
  unsubscribeSecret?: string;
  security: {
    /** Basic auth for Bull Board and /metrics; an empty password locks them. */
    admin: { user: string; password: string };
    rateLimitPerSecond: number;
    maxBodyBytes: number;
    /** AUTH_FAILURES_PER_MINUTE, default 20. */
    authFailuresPerMinute?: number;
    /** TRUST_PROXY_HOPS, default 0 (the socket's address is the client). */
    trustedProxyHops?: number;
  };
}

/** The HTTP API, with no I/O of its own: main.ts passes the connections in. */
export function createApp(deps: AppDeps): OpenAPIHono<ApiEnv> {
  const app = newRouter();
  // On the producer connection (closing it closes this): the board, the metrics and erasure see the schedules' jobs.
  const schedules = createSchedulesQueue(deps.redis, deps.queuePrefix);
  const queues = { queues: deps.queues, fanout: deps.fanout, events: deps.events, workflows: deps.workflows, schedules };
  const metrics = createMetrics({ ...queues, pool: deps.db.pool, redis: deps.redis, prefix: deps.queuePrefix });
  app.use(requestId({ headerName: 'X-Request-Id' }));
  app.use(metrics.middleware);
  app.use(accessLog(deps.log));
  app.use(bodyLimit(deps.security.maxBodyBytes));
  if (deps.tracer) app.on('POST', ['/notifications', '/notifications/bulk'], requestSpan(deps.tracer));
  app.onError((err, c) => errorResponse(c, toAppError(err, c.get('log') ?? deps.log)));
  app.notFound((c) => errorResponse(c, notFound(`Route ${c.req.method} ${c.req.path}`)));

  app.route('/', healthRoutes(deps));
  mountDocs(app);
  // Failed authentication per client address, one budget for keys and one for admin credentials.
  const throttle = (kind: string) =>
    new AuthThrottle(deps.redis, deps.log, { maxFailures: deps.security.authFailuresPerMinute ?? 20, keyPrefix: `${deps.queuePrefix}:auth-failures:${kind}` });
  const trustedProxyHops = deps.security.trustedProxyHops ?? 0;
  // Browsers resend Basic credentials from any site: state-changing admin requests must come from our own pages.
  app.use('/admin/*', sameOrigin());
  app.use('/dashboard/*', sameOrigin());
  const admin = adminAuth(deps.security.admin, { throttle: throttle('admin'), trustedProxyHops });
  app.use(`${BULL_BOARD_PATH}/*`, admin);
  app.route(BULL_BOARD_PATH, bullBoard(queues));
  app.use(`${ADMIN_CHANNELS_PATH}/*`, admin);
  app.route(ADMIN_CHANNELS_PATH, adminChannelRoutes(deps));
  app.use(`${ADMIN_AUDIT_PATH}/*`, admin);
  app.route(ADMIN_AUDIT_PATH, adminAuditRoutes(deps));
  app.use(`${ADMIN_RETENTION_PATH}/*`, admin);
  app.route(ADMIN_RETENTION_PATH, adminRetentionRoutes({ ...deps, prefix: deps.queuePrefix }));
  app.use('/metrics/*', admin);
  app.route('/metrics', metrics.routes);
  app.use('/dashboard/*', admin);
  app.route('/dashboard', dashboardRoutes(deps));
  app.use(`${INBOX_DEMO_PATH}/*`, admin);
  app.route(INBOX_DEMO_PATH, inboxDemoRoutes());
  // Public: the component's scripts, which any site's pages load.
  app.route(INBOX_CLIENT_PATH, inboxClientAssets());

  // The JSON guard runs after authentication, so a caller without a key never gets its body parsed.
  const tenant = [apiKeyAuth(deps.keys, { throttle: throttle('api'), trustedProxyHops }), rateLimit(deps.redis, deps.security.rateLimitPerSecond), jsonGuard()] as const;

  const resources = {
    '/notifications': notificationRoutes(withWriter(deps)),
    '/batches': batchRoutes(deps),
    '/users': userRoutes({ ...deps, schedules }),
    '/deliveries': deliveryRoutes(deps),
    '/templates': templateRoutes(deps),
    '/workflows': workflowRoutes(deps),
    '/categories': categoryRoutes(deps),
    '/topics': topicRoutes(deps),
    '/keys': keyRoutes(deps),
    '/webhooks': webhookRoutes(deps),
    '/app': appPauseRoutes(deps),
    '/audit-events': auditRoutes(deps),
    '/suppressions': suppressionRoutes(deps),
    '/schedules': scheduleRoutes(deps),
    '/workflow-runs': workflowRunRoutes(deps),
  };
  // Before authentication: a preflight carries no credentials.
  const corsOrigins = new CorsOrigins(deps.db);
  app.use('/users/*', userCors(corsOrigins));
  for (const [path, router] of Object.entries(resources)) {
    // `/x/*` also matches `/x` itself: one registration, so the limiter counts a request once.
    app.use(`${path}/*`, ...tenant);
    app.route(path, router);
  }
  // No key: a provider's signature or the link's own token is the authority.
  app.route('/providers', providerReceiptRoutes(deps));
  app.route('/unsubscribe', unsubscribeRoutes(deps));
  app.route('/users', inboxRoutes(deps));
  app.route('/users', userTokenRoutes(deps));
  app.route('/app', corsRoutes({ ...deps, corsOrigins }));
  app.route('/templates', keyedPauseRoutes(deps, 'template'));
  app.route('/categories', keyedPauseRoutes(deps, 'category'));
  // Under resources registered above (their key authentication applies): a workflow's trigger and runs, a user's runs.
  app.route('/workflows', workflowTriggerRoutes(deps));
  app.route('/workflows', workflowRunsOfWorkflowRoutes(deps));
  app.route('/users', userWorkflowRunRoutes(deps));
  return app;
}
