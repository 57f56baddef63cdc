import type { Channel } from '@notify/core/platform';
import { ProviderChain, type Provider } from '@notify/core/channels';
import { createNotification, toOneUser, withWriter } from '@notify/core/notifications';
import { CreateNotificationBody } from '@notify/core/schemas';
import type { TestEnv } from '@notify/core/testing';
import type { ChannelWorkerOptions } from '../channel-worker.js';

/**
 * A channel worker's options for a test: its queue prefix and connections,
 * these providers in a chain whose breaker never trips (unless `over` says
 * otherwise), and the production defaults for the rest.
 */
export function testWorkerOptions(t: TestEnv, channel: Channel, providers: Provider | Provider[], over: Partial<ChannelWorkerOptions> = {}): ChannelWorkerOptions {
  return {
    channel,
    connection: t.workerRedis,
    prefix: t.env.QUEUE_PREFIX,
    concurrency: 5,
    pool: t.db.pool,
    chain: new ProviderChain(channel, Array.isArray(providers) ? providers : [providers], { failureThreshold: 100, cooldownMs: 1000 }),
    log: t.log,
    dbRetryMs: 5000,
    maxRetryAfterMs: 60_000,
    stalls: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2 },
    defaults: { emailSubject: 'Notification' },
    ...over,
  };
}

/** Accepts a notification as POST /notifications would (the body parsed, one user), for the test app. */
export async function notifyForTest(t: TestEnv, body: Record<string, unknown>, retry = { attempts: 4, baseDelayMs: 100 }) {
  const deps = withWriter({ db: t.db, queues: t.queues, retry, log: t.log });
  const { notification } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse(body)));
  return notification;
}
