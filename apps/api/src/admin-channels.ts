import { recordAudit, type AuditActor } from '@notify/core/access';
import { CHANNELS, isChannel, notFound, withTransaction, type Channel, type ChannelQueues, type Db } from '@notify/core/platform';
import { Hono } from 'hono';
import { adminActor } from './audit-actor.js';
import type { ApiEnv } from './context.js';

export const ADMIN_CHANNELS_PATH = '/admin/channels';

export interface ChannelState {
  channel: Channel;
  paused: boolean;
}

export interface ChannelPauseDeps {
  db: Db;
  queues: ChannelQueues;
}

/**
 * Pauses or resumes a channel's whole queue, for every app: BullMQ's global
 * pause, so no worker anywhere takes a job; waiting and delayed jobs stay in
 * the queue, jobs already running finish. The state is Redis's, so no
 * transaction holds both: the audit record (no app's: every app's deliveries
 * wait) is written first and commits only once Redis has made the change, so
 * a refused change leaves no record and a refused record no change.
 */
export async function setChannelPaused(deps: ChannelPauseDeps, channel: string, paused: boolean, by: AuditActor): Promise<ChannelState> {
  if (!isChannel(channel)) throw notFound('Channel');
  const queue = deps.queues[channel];
  await withTransaction(deps.db.pool, async (client) => {
    await recordAudit(client, by, { appId: null, action: paused ? 'channel.paused' : 'channel.resumed', targetType: 'channel', targetId: channel });
    await (paused ? queue.pause() : queue.resume());
  });
  return { channel, paused: await queue.isPaused() };
}

export async function channelStates(queues: ChannelQueues): Promise<ChannelState[]> {
  return Promise.all(CHANNELS.map(async (channel) => ({ channel, paused: await queues[channel].isPaused() })));
}

type ChannelAdminDeps = ChannelPauseDeps & { security?: { admin: { user: string } } };

/** POST /{channel}/pause and /resume, for /admin/channels and the dashboard alike: the admin is the actor. */
export function channelPauseRoutes(deps: ChannelAdminDeps) {
  const app = new Hono<ApiEnv>();
  for (const paused of [true, false]) {
    app.post(`/:channel/${paused ? 'pause' : 'resume'}`, async (c) => c.json(await setChannelPaused(deps, c.req.param('channel'), paused, adminActor(c, deps.security?.admin))));
  }
  return app;
}

/** GET /admin/channels, POST /admin/channels/{channel}/pause and /resume; mounted behind the admin credentials. */
export function adminChannelRoutes(deps: ChannelAdminDeps) {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => c.json({ data: await channelStates(deps.queues) }));
  app.route('/', channelPauseRoutes(deps));
  return app;
}
