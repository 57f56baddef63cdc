import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { AppError, CHANNELS, isChannel, isUuid, type ChannelQueues, type Db, type Redis, type RetryPolicy } from '@notify/core/platform';
import { replayDelivery } from '@notify/core/deliveries';
import { breakerStates, dashboardFailed, dashboardOverview, dashboardTimeline } from '@notify/core/observability';
import { listRuns } from '@notify/core/workflows';
import { Hono } from 'hono';
import type { ApiEnv } from '../context.js';
import { DASHBOARD_PAGE } from './page.js';
import { channelPauseRoutes } from '../admin-channels.js';
import { adminActor } from '../audit-actor.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** apps/api/public/dashboard, from src/dashboard or dist/dashboard alike. */
const publicDir = path.resolve(here, '../../public/dashboard');
// chart.js exports only its module entry; the UMD build sits beside it in dist/.
const chartDir = path.dirname(createRequire(import.meta.url).resolve('chart.js'));
const relative = (dir: string) => path.relative(process.cwd(), dir);

export interface DashboardDeps {
  db: Db;
  queues: ChannelQueues;
  redis: Redis;
  retry: RetryPolicy;
  queuePrefix: string;
  /** The admin user name, recorded as the actor of the dashboard's changes. */
  security?: { admin: { user: string } };
}

/**
 * The operator dashboard at /dashboard: a static page and the JSON it polls.
 * Everything is served from here (Chart.js included), so it works offline.
 * Mounted behind the admin credentials.
 */
export function dashboardRoutes(deps: DashboardDeps) {
  const app = new Hono<ApiEnv>();
  const appOf = async (c: { req: { query(name: string): string | undefined } }) => {
    const id = c.req.query('app');
    if (!id) throw new AppError('invalid_request', 'Choose an app: ?app=<id>');
    const found = await deps.db.prisma.app.findUnique({ where: { id }, select: { id: true } });
    if (!found) throw new AppError('not_found', 'App not found');
    return found.id;
  };

  app.get('/', (c) => c.html(DASHBOARD_PAGE));
  app.use('/assets/chart.umd.min.js', serveStatic({ root: relative(chartDir), rewriteRequestPath: () => '/chart.umd.min.js' }));
  app.use('/assets/*', serveStatic({ root: relative(publicDir), rewriteRequestPath: (p) => p.replace(/^\/dashboard\/assets/, '') }));

  app.get('/api/apps', async (c) => {
    const apps = await deps.db.prisma.app.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true } });
    return c.json({ data: apps });
  });

  app.get('/api/overview', async (c) => {
    const window = c.req.query('window') === '24h' ? '24h' : '1h';
    return c.json(await dashboardOverview(deps.db, await appOf(c), window));
  });

  /** Live state, polled every few seconds: queue depth per channel and provider breakers. */
  app.get('/api/live', async (c) => {
    const depth = await Promise.all(
      CHANNELS.map(async (channel) => {
        const counts = await deps.queues[channel].getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        return { channel, ...counts, paused: await deps.queues[channel].isPaused() };
      }),
    );
    return c.json({ queues: depth, breakers: await breakerStates(deps.redis, deps.queuePrefix), at: new Date().toISOString() });
  });

  app.get('/api/failed', async (c) => {
    const channel = c.req.query('channel');
    const failed = await dashboardFailed(deps.db, await appOf(c), {
      channel: channel && isChannel(channel) ? channel : undefined,
      provider: c.req.query('provider') || undefined,
      errorCode: c.req.query('error_code') || undefined,
    });
    return c.json({ data: failed });
  });

  app.get('/api/timeline', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (!q) throw new AppError('invalid_request', 'Give a notification id or a user id: ?q=');
    const appId = await appOf(c);
    // A user's timeline also lists their workflow runs (a notification id has none of its own).
    const runs = isUuid(q) ? [] : (await listRuns(deps.db, appId, { userId: q }, { limit: 20 })).data;
    return c.json({ data: await dashboardTimeline(deps.db, appId, q), runs });
  });

  /** The replay button: the same replay as POST /deliveries/{id}/retry, for the chosen app. */
  app.post('/api/deliveries/:id/replay', async (c) => {
    const appId = await appOf(c);
    return c.json(await replayDelivery(deps, appId, c.req.param('id'), c.get('requestId'), adminActor(c, deps.security?.admin)));
  });

  /** The pause button: holds a whole channel queue, as POST /admin/channels/{channel}/pause. */
  app.route('/api/channels', channelPauseRoutes(deps));

  return app;
}
