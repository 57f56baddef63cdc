import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { CHANNELS, type ChannelQueues, type FanoutJob, type ScheduleJob, type StatusEventJob, type WorkflowStepJob } from '@notify/core/platform';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * What the board's pages may load: only this service. Bull Board's React
 * bundle sets inline styles and reads its config from a JSON <script>, which
 * needs no script exception. A stylesheet, font or script from elsewhere is
 * refused by the browser even if a later @bull-board/ui adds one.
 */
export const BULL_BOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * A <link> or <script> that loads from another origin. @bull-board/ui's page
 * template links Google Fonts (IBM Plex): broken offline, and it tells a third
 * party who runs the service. Its CSS falls back to system fonts.
 */
const EXTERNAL_ASSET = /<link\b[^>]*\bhref=["']?(?:https?:)?\/\/[^>]*>|<script\b[^>]*\bsrc=["']?(?:https?:)?\/\/[^>]*>\s*<\/script>/gi;

/** Every queue of the service: the channels', then the fan-outs, status events, workflow steps and schedules. */
export interface BoardQueues {
  queues: ChannelQueues;
  fanout: Queue<FanoutJob>;
  events: Queue<StatusEventJob>;
  workflows: Queue<WorkflowStepJob>;
  schedules: Queue<ScheduleJob>;
}

/** The board's HTML without external assets, and every response with the CSP above. */
const selfContained: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.res.headers.get('content-type')?.startsWith('text/html')) {
    const html = (await c.res.text()).replace(EXTERNAL_ASSET, '');
    c.res = new Response(html, { status: c.res.status, headers: c.res.headers });
  }
  c.res.headers.set('Content-Security-Policy', BULL_BOARD_CSP);
};

/**
 * Bull Board showing every channel queue, the topic fan-outs, the status
 * webhook events, the workflow run steps and the schedules' occurrences, for
 * `app.route(BULL_BOARD_PATH, ...)`.
 *
 * The page's base href is `/admin/queues/`, so that is the address a browser
 * shows and bookmarks, yet Hono mounts the board's root at `/admin/queues`
 * only. A GET or HEAD of any board path with a trailing slash is answered as
 * the same path without it (no redirect), the page, its API and its assets alike.
 */
export function bullBoard(q: BoardQueues) {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_PATH);
  const all = [...CHANNELS.map((c) => q.queues[c]), q.fanout, q.events, q.workflows, q.schedules].map((queue) => new BullMQAdapter(queue));
  createBullBoard({ queues: all, serverAdapter });
  const board = serverAdapter.registerPlugin();
  // The board at its full path, to answer a rewritten request; the static
  // handler strips the full path, so it must see it.
  const mounted = new Hono().route(BULL_BOARD_PATH, board);
  mounted.notFound((c) => c.body(null, 404, { [UNMATCHED]: '1' }));

  const router = new Hono();
  router.use('*', selfContained);
  router.on(['GET', 'HEAD'], '*', async (c, next) => {
    const url = new URL(c.req.url);
    if (!url.pathname.endsWith('/') || url.pathname === '/') return next();
    url.pathname = url.pathname.replace(/\/+$/, '');
    const res = await mounted.fetch(new Request(url, { method: c.req.method, headers: c.req.raw.headers }), c.env);
    // Unknown without the slash too: the app's own 404.
    if (res.headers.has(UNMATCHED)) return next();
    return res;
  });
  router.route('/', board);
  return router;
}

const UNMATCHED = 'x-bull-board-unmatched';
