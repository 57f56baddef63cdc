import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { CHANNELS, type ChannelQueues, type FanoutJob } from '@notify/core';
import type { Queue } from 'bullmq';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board showing every channel queue and the topic fan-outs. */
export function bullBoard(queues: ChannelQueues, fanout: Queue<FanoutJob>) {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: [...CHANNELS.map((c) => new BullMQAdapter(queues[c])), new BullMQAdapter(fanout)], serverAdapter });
  return serverAdapter.registerPlugin();
}
