import { createFanoutQueue, type Channel, type FanoutJob } from '@notify/core/platform';
import {
  cancelNotification,
  createNotification,
  createTopicNotification,
  getBatch,
  toOneUser,
  type NotificationDeps,
  withWriter,
  type NotificationWriter,
} from '@notify/core/notifications';
import { createSimulatedProvider, type Envelope, type Provider } from '@notify/core/channels';
import { createTemplate, updateTemplate } from '@notify/core/content';
import { CreateNotificationBody, TemplateBody } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import type { Queue, Worker } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker, createFanoutWorker } from '../channel-worker.js';
import { testWorkerOptions } from '../testing/test-worker.js';

let t: TestEnv;
let fanoutQueue: Queue<FanoutJob>;
let deps: NotificationDeps & { writer: NotificationWriter };
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  fanoutQueue = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
  deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, fanout: fanoutQueue });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  await fanoutQueue?.close();
  await t?.close();
});

/** A provider that records what it was asked to send. */
function recorder(channels: Channel[]) {
  const sent: Envelope[] = [];
  const inner = createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false });
  const provider: Provider = {
    name: 'recorder',
    channels,
    async send(envelope, ctx) {
      sent.push(envelope);
      return inner.send(envelope, ctx);
    },
  };
  return { provider, sent };
}

function startWorker(channel: Channel, provider: Provider, concurrency = 10) {
  workers.push(createChannelWorker(testWorkerOptions(t, channel, provider, { concurrency })));
}

const notify = async (input: Record<string, unknown>) => (await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse(input)))).notification;

const status = async (id: string) => await t.db.prisma.notification.findUniqueOrThrow({ where: { id }, include: { deliveries: true } });

describe('templates through the worker', () => {
  it('sends what the template rendered, and a notification made before an edit keeps its version', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'tv-1', email: 'tv@example.com' } });
    const body = (subject: string) => TemplateBody.parse({ locales: { en: { email: { subject, text: 'Hi {{ name }}', html: '<b>{{ name }}</b>' } } } });
    await createTemplate(t.db, t.appId, 'promo', body('v1 for {{ name }}'));
    const scheduled = await notify({ user_id: 'tv-1', template: 'promo', data: { name: 'Ada & Co' }, send_at: new Date(Date.now() + 1500).toISOString() });
    await updateTemplate(t.db, t.appId, 'promo', body('v2 for {{ name }}'));
    const fresh = await notify({ user_id: 'tv-1', template: 'promo', data: { name: 'Bob' } });

    const { provider, sent } = recorder(['email']);
    startWorker('email', provider);
    await waitFor(async () => ((await status(scheduled.id)).status === 'delivered' ? true : undefined), 10_000, 'scheduled delivery');
    const subjects = sent.map((e) => (e.channel === 'email' ? e.message.subject : ''));
    // Which goes first depends on how long the set-up took (the scheduled one is due in 1.5 s); what each sent does not.
    expect([...subjects].sort()).toEqual(['v1 for Ada & Co', 'v2 for Bob']);
    const ada = sent[subjects.indexOf('v1 for Ada & Co')]!;
    expect(ada.channel === 'email' && ada.message.html).toBe('<b>Ada &amp; Co</b>');
    expect((await status(scheduled.id)).templateVersion).toBe(1);
    expect((await status(fresh.id)).templateVersion).toBe(2);
  });
});

describe('scheduling', () => {
  it('a cancelled scheduled notification never reaches the provider', async () => {
    const { provider, sent } = recorder(['in_app']);
    startWorker('in_app', provider);
    const n = await notify({ user_id: 'sch-1', message: 'later', channels: ['in_app'], send_at: new Date(Date.now() + 1000).toISOString() });
    await cancelNotification(deps, t.appId, n.id);
    await sleep(2000);
    expect(sent).toHaveLength(0);
    expect((await status(n.id)).status).toBe('cancelled');
  });

  it('a scheduled notification goes out at send_at, not before', async () => {
    const { provider, sent } = recorder(['in_app']);
    startWorker('in_app', provider);
    const at = Date.now() + 1200;
    const n = await notify({ user_id: 'sch-2', message: 'on time', channels: ['in_app'], send_at: new Date(at).toISOString() });
    await waitFor(async () => ((await status(n.id)).status === 'delivered' ? true : undefined), 10_000, 'delivery');
    const delivered = (await status(n.id)).deliveries[0]!.deliveredAt!.getTime();
    expect(delivered).toBeGreaterThanOrEqual(at);
    expect(delivered - at).toBeLessThan(3000);
    expect(sent).toHaveLength(1);
  });
});

describe('quiet hours through the worker', () => {
  it('holds a normal email while a critical one goes out at once', async () => {
    // From an hour ago to an hour from now (UTC): "now" is always inside, and the end is a known minute.
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const at = Date.now();
    const end = new Date(Math.floor((at + 3_600_000) / 60_000) * 60_000);
    await t.db.prisma.user.create({
      data: { appId: t.appId, id: 'qh-1', email: 'qh@example.com', timezone: 'UTC', quietStart: hhmm(at - 3_600_000), quietEnd: hhmm(at + 3_600_000) },
    });
    const { provider, sent } = recorder(['email']);
    startWorker('email', provider);
    const normal = await notify({ user_id: 'qh-1', message: 'newsletter', channels: ['email'] });
    const critical = await notify({ user_id: 'qh-1', message: 'password reset', channels: ['email'], priority: 'critical' });
    await waitFor(async () => ((await status(critical.id)).status === 'delivered' ? true : undefined), 5000, 'critical delivery');
    // The normal one waits in BullMQ as a delayed job until the window ends: no worker can take it before then.
    const held = (await status(normal.id)).deliveries[0]!;
    expect(held).toMatchObject({ status: 'queued', scheduledFor: end });
    const job = await t.queues.email.getJob(held.id);
    expect(await job?.getState()).toBe('delayed');
    expect(job!.timestamp + job!.opts.delay!).toBeGreaterThanOrEqual(end.getTime() - 1000);
    expect(sent.map((e) => (e.channel === 'email' ? e.message.text : ''))).toEqual(['password reset']);
  });
});

describe('topic fan-out', () => {
  it('reaches 10,000 subscribers with exactly one delivery per subscriber and channel', async () => {
    const users = Array.from({ length: 10_000 }, (_, i) => `sub-${String(i).padStart(5, '0')}`);
    await t.db.prisma.topic.create({ data: { appId: t.appId, key: 'everyone' } });
    await t.db.prisma.topicSubscription.createMany({ data: users.map((userId) => ({ appId: t.appId, topicKey: 'everyone', userId })) });
    const { provider } = recorder(['in_app']);
    startWorker('in_app', provider, 100);
    workers.push(createFanoutWorker({ connection: t.workerRedis, prefix: t.env.QUEUE_PREFIX, deps, log: t.log }));

    const { response: batch } = await createTopicNotification(deps, t.appId, 'everyone', { message: 'Release 2.0', channels: ['in_app', 'email'], priority: 'low' });
    const done = await waitFor(
      async () => {
        const b = await getBatch(t.db, t.appId, batch.id);
        return b.complete ? b : undefined;
      },
      120_000,
      'fan-out to finish',
    );
    expect(done).toMatchObject({ status: 'created', notifications: 10_000, by_status: { delivered: 10_000 } });
    expect(done.deliveries).toMatchObject({ delivered: 10_000, skipped: 10_000 });
    const { rows } = await t.db.pool.query<{ n: number; distinct_pairs: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (n.user_id, d.channel))::int AS distinct_pairs
       FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.batch_id = $1`,
      [batch.id],
    );
    expect(rows[0]).toEqual({ n: 20_000, distinct_pairs: 20_000 });
  }, 180_000);
});
