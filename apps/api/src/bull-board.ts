import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { CHANNELS, type ChannelQueues } from '@notify/core';

export const BULL_BOARD_PATH = '/admin/queues';

/** Bull Board showing every channel queue. */
export function bullBoard(queues: ChannelQueues) {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: CHANNELS.map((c) => new BullMQAdapter(queues[c])), serverAdapter });
  return serverAdapter.registerPlugin();
}
