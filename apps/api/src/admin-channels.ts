import { CHANNELS, isChannel, notFound, type Channel, type ChannelQueues } from '@notify/core/platform';
import { Hono } from 'hono';
import type { ApiEnv } from './context.js';

export const ADMIN_CHANNELS_PATH = '/admin/channels';

export interface ChannelState {
  channel: Channel;
  paused: boolean;
}

/**
 * Pauses or resumes a channel's whole queue, for every app: BullMQ's global
 * pause, so no worker anywhere takes a job; waiting and delayed jobs stay in
 * the queue, jobs already running finish.
 */
export async function setChannelPaused(queues: ChannelQueues, channel: string, paused: boolean): Promise<ChannelState> {
  if (!isChannel(channel)) throw notFound('Channel');
  const queue = queues[channel];
  await (paused ? queue.pause() : queue.resume());
  return { channel, paused: await queue.isPaused() };
}

export async function channelStates(queues: ChannelQueues): Promise<ChannelState[]> {
  return Promise.all(CHANNELS.map(async (channel) => ({ channel, paused: await queues[channel].isPaused() })));
}

/** GET /admin/channels, POST /admin/channels/{channel}/pause and /resume; mounted behind the admin credentials. */
export function adminChannelRoutes(deps: { queues: ChannelQueues }) {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => c.json({ data: await channelStates(deps.queues) }));
  app.post('/:channel/pause', async (c) => c.json(await setChannelPaused(deps.queues, c.req.param('channel'), true)));
  app.post('/:channel/resume', async (c) => c.json(await setChannelPaused(deps.queues, c.req.param('channel'), false)));
  return app;
}
