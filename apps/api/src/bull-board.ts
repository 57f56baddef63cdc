import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { CHANNELS, type ChannelQueues, type FanoutJob, type StatusEventJob } from '@notify/core';
import type { Queue } from 'bullmq';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board showing every channel queue, the topic fan-outs and the status webhook events. */
export function bullBoard(queues: ChannelQueues, fanout: Queue<FanoutJob>, events: Queue<StatusEventJob>) {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_PATH);
  const all = [...CHANNELS.map((c) => new BullMQAdapter(queues[c])), new BullMQAdapter(fanout), new BullMQAdapter(events)];
  createBullBoard({ queues: all, serverAdapter });
  return serverAdapter.registerPlugin();
}
