import { createEventsQueue, type Channel, type StatusEventJob } from '@notify/core/platform';
import { cancelNotification, createNotification, toOneUser, type NotificationDeps, withWriter, type NotificationWriter } from '@notify/core/notifications';
import { createStatusWebhook, listStatusEvents } from '@notify/core/status-webhooks';
import { createSimulatedProvider, createWebhookProvider, ProviderError, type Provider } from '@notify/core/channels';
import { CreateNotificationBody } from '@notify/core/schemas';
import { createTestEnv, startWebhookReceiver, waitFor, type TestEnv, type WebhookReceiver } from '@notify/core/testing';
import type { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker, createEventsWorker } from '../channel-worker.js';
import { testWorkerOptions } from '../testing/test-worker.js';

let t: TestEnv;
let events: Queue<StatusEventJob>;
let deps: NotificationDeps & { writer: NotificationWriter };
let rx: WebhookReceiver;
let endpointId: string;
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  events = createEventsQueue(t.redis, t.env.QUEUE_PREFIX, 100);
  deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 2, baseDelayMs: 50 }, log: t.log, events });
  rx = await startWebhookReceiver({ secret: 'whsec_placeholderplaceholderplaceholder' });
  const endpoint = await createStatusWebhook(t.db, t.appId, { url: `${rx.origin}/status` }, { allowedHosts: new Set(['127.0.0.1']) });
  rx.useSecret(endpoint.secret);
  endpointId = endpoint.id;
  workers.push(
    createEventsWorker({
      connection: t.workerRedis,
      prefix: t.env.QUEUE_PREFIX,
      db: t.db,
      webhook: createWebhookProvider({ timeoutMs: 2000, allowedHosts: new Set(['127.0.0.1']) }),
      log: t.log,
    }),
  );
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'ev-1', phone: '+14155550100' } });
});
afterEach(() => {
  rx.requests.length = 0;
  rx.reply = (r) => (r.verified ? { status: 200 } : { status: 401 });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await events?.close();
  await rx?.close();
  await t?.close();
});

function start(channel: Channel, provider: Provider) {
  workers.push(createChannelWorker(testWorkerOptions(t, channel, provider, { events })));
}

const received = (n: number) => waitFor(async () => (rx.requests.length >= n ? rx.requests : undefined), 10_000, `${n} status events`);

describe('status webhooks', () => {
  it('announce delivery.delivered, delivery.failed and notification.completed, signed, once each', async () => {
    start('in_app', createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false }));
    const refusing: Provider = {
      name: 'carrier',
      channels: ['sms'],
      async send() {
        throw new ProviderError('invalid number', { code: 'twilio_21211', retryable: false });
      },
    };
    start('sms', refusing);
    const { notification } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'ev-1', message: 'Hi', channels: ['in_app', 'sms'] })));
    const requests = await received(3);
    // Nothing else can arrive once no job is left that could make or send an event: the channel
    // queues and the events queue are idle and no event is pending.
    await waitFor(
      async () => {
        const queues = [t.queues.in_app, t.queues.sms, events];
        const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
        const busy = counts.some((c) => Object.values(c).some((n) => n > 0));
        const pending = await t.db.prisma.statusEvent.count({ where: { status: 'pending' } });
        return busy || pending > 0 ? undefined : true;
      },
      10_000,
      'idle queues',
    );
    expect(await t.db.prisma.statusEvent.count({ where: { userId: 'ev-1' } })).toBe(3);
    expect(rx.requests).toHaveLength(3);
    expect(requests.every((r) => r.verified)).toBe(true);
    const byType = Object.fromEntries(requests.map((r) => [(r.payload as { type: string }).type, r.payload as { data: Record<string, unknown> }]));
    expect(byType['delivery.delivered']!.data).toMatchObject({ notification_id: notification.id, channel: 'in_app', status: 'delivered', provider: 'simulated' });
    expect(byType['delivery.failed']!.data).toMatchObject({ channel: 'sms', status: 'failed', error: { code: 'twilio_21211' } });
    expect(byType['notification.completed']!.data).toMatchObject({ notification_id: notification.id, status: 'partial', deliveries: { delivered: 1, failed: 1 } });
    // webhook-id is the event id: the receiver's de-duplication key.
    const ids = requests.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(3);
  });

  it('retries an endpoint that fails, and the delivery log shows each attempt', async () => {
    let calls = 0;
    rx.reply = (r) => (++calls === 1 ? { status: 503 } : r.verified ? { status: 200 } : { status: 401 });
    const n = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'ev-1', message: 'x', channels: ['in_app'] })));
    await received(3); // 503, then delivered + completed
    const log = await waitFor(async () => {
      const page = await listStatusEvents(t.db, t.appId, endpointId, { limit: 10 });
      const mine = page.data.filter((e) => (e.payload as { data: { notification_id: string } }).data.notification_id === n.notification.id);
      return mine.length === 2 && mine.every((e) => e.status === 'delivered') ? mine : undefined;
    });
    expect(log.map((e) => e.attempts).sort()).toEqual([1, 2]);
    expect(log.find((e) => e.attempts === 2)).toMatchObject({ last_status_code: 200, last_error: null });
  });

  it('announce notification.completed when a cancel finishes a notification', async () => {
    const n = await createNotification(
      deps,
      t.appId,
      toOneUser(CreateNotificationBody.parse({ user_id: 'ev-1', message: 'x', channels: ['sms'], send_at: new Date(Date.now() + 60_000).toISOString() })),
    );
    await cancelNotification(deps, t.appId, n.notification.id);
    const [request] = await received(1);
    expect(request!.payload).toMatchObject({ type: 'notification.completed', data: { notification_id: n.notification.id, status: 'cancelled' } });
  });
});
