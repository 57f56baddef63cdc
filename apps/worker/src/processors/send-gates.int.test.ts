import { setPreferences } from '@notify/core/audience';
import { createTemplate, putCategory, setPaused } from '@notify/core/content';
import { createSimulatedProvider, type Provider } from '@notify/core/channels';
import { TemplateBody } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';
import { SendGates } from './send-gates.js';

let t: TestEnv;
const workers: Worker[] = [];
let sent: string[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  await t.db.prisma.user.createMany({ data: ['g1', 'g2', 'g3', 'g4'].map((id) => ({ appId: t.appId, id, email: `${id}@example.com` })) });
  await createTemplate(t.db, t.appId, 'promo', TemplateBody.parse({ locales: { en: { email: { subject: 'Hi', text: 'Hello' } } } }));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(Object.values(t.queues).map((q) => q.obliterate({ force: true })));
  await t.db.prisma.sendPause.deleteMany({});
  sent = [];
});
afterAll(() => t?.close());

/** A provider that records each delivery it was asked to send. */
const recorder = (): Provider => {
  const inner = createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false });
  return {
    name: 'recorder',
    channels: ['email'],
    send(e, ctx) {
      sent.push(ctx.deliveryId);
      return inner.send(e, ctx);
    },
  };
};

/** A worker as a separate replica would run it: its own gates (cache), a short hold so tests see resumes quickly. */
function startWorker() {
  const gates = new SendGates({ pool: t.db.pool, redis: t.workerRedis, prefix: t.env.QUEUE_PREFIX, log: t.log, refreshMs: 100, holdMs: 300 });
  const worker = createChannelWorker(testWorkerOptions(t, 'email', recorder(), { gates }));
  workers.push(worker);
  return worker;
}

const notify = (body: Record<string, unknown>) => notifyForTest(t, { channels: ['email'], ...body });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deliveriesOf = (ids: string[]) => t.db.prisma.delivery.findMany({ where: { notificationId: { in: ids } } });

/** Sends n notifications while `pause` holds them: none goes in 2 s, nor is any lost; all go after `resume`. */
async function heldThenReleased(n: number, body: Record<string, unknown>, pause: () => Promise<unknown>, resume: () => Promise<unknown>) {
  await pause();
  startWorker();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await notify({ user_id: 'g1', ...body })).id);
  await sleep(2000);
  expect(sent).toEqual([]);
  const held = await deliveriesOf(ids);
  expect(held.map((d) => [d.status, d.attempts])).toEqual(ids.map(() => ['queued', 0]));
  await resume();
  await waitFor(async () => (await deliveriesOf(ids)).every((d) => d.status === 'delivered') || undefined, 5000, 'all delivered');
  expect(sent).toHaveLength(n);
  expect((await deliveriesOf(ids)).map((d) => d.attempts)).toEqual(ids.map(() => 1));
}

describe('pauses', () => {
  it("holds a paused template's deliveries and sends them all after the resume", async () => {
    await heldThenReleased(
      5,
      { template: 'promo' },
      () => setPaused(t.db, t.appId, 'template', 'promo', true),
      () => setPaused(t.db, t.appId, 'template', 'promo', false),
    );
  });

  it("holds a paused category's deliveries while the rest of the app's go", async () => {
    await setPaused(t.db, t.appId, 'category', 'marketing', true);
    startWorker();
    const other = await notify({ user_id: 'g2', message: 'order shipped', category: 'transactional' });
    await waitFor(async () => (await deliveriesOf([other.id]))[0]?.status === 'delivered' || undefined, 5000, 'the other category delivered');
    await Promise.all(workers.splice(0).map((w) => w.close()));
    sent = [];
    await heldThenReleased(
      4,
      { message: 'sale', category: 'marketing' },
      async () => {},
      () => setPaused(t.db, t.appId, 'category', 'marketing', false),
    );
  });

  it('holds the whole app', async () => {
    await heldThenReleased(
      3,
      { message: 'hello' },
      () => setPaused(t.db, t.appId, 'app', null, true),
      () => setPaused(t.db, t.appId, 'app', null, false),
    );
  });

  it('a paused channel queue holds its jobs and sends them on resume', async () => {
    await heldThenReleased(
      3,
      { message: 'hello' },
      () => t.queues.email.pause(),
      () => t.queues.email.resume(),
    );
  });
});

describe('frequency caps', () => {
  it('a cap of 3 a day lets exactly 3 of 10 through across two worker replicas; the rest end skipped/frequency_capped', async () => {
    await putCategory(t.db, t.appId, 'digest', { required: false, frequency_cap: { count: 3, period: '1d' } });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await notify({ user_id: 'g3', message: `digest ${i}`, category: 'digest' })).id);
    const other = await notify({ user_id: 'g2', message: 'digest for someone else', category: 'digest' });
    startWorker();
    startWorker();
    await waitFor(async () => (await deliveriesOf([...ids, other.id])).every((d) => d.status === 'delivered' || d.status === 'skipped') || undefined, 10_000, 'all finished');
    const done = await deliveriesOf(ids);
    expect(done.filter((d) => d.status === 'delivered')).toHaveLength(3);
    expect(done.filter((d) => d.status === 'skipped').map((d) => d.reason)).toEqual(Array(7).fill('frequency_capped'));
    expect(sent).toHaveLength(4);
    expect((await deliveriesOf([other.id]))[0]?.status).toBe('delivered');
  });

  it('a delivery refused for consent uses no slot of the cap', async () => {
    await putCategory(t.db, t.appId, 'weekly', { required: false, frequency_cap: { count: 1, period: '1d' } });
    const refused = await notify({ user_id: 'g4', message: 'weekly 1', category: 'weekly' });
    await setPreferences(t.db, t.appId, 'g4', { categories: { weekly: false } });
    startWorker();
    await waitFor(async () => (await deliveriesOf([refused.id]))[0]?.status === 'skipped' || undefined, 10_000, 'the refused one');
    expect((await deliveriesOf([refused.id]))[0]?.reason).toBe('opted_out');
    await setPreferences(t.db, t.appId, 'g4', { categories: { weekly: true } });
    const allowed = await notify({ user_id: 'g4', message: 'weekly 2', category: 'weekly' });
    await waitFor(async () => ((await deliveriesOf([allowed.id]))[0]?.status === 'delivered' ? true : undefined), 10_000, 'the one the cap still allows');
  });
});
