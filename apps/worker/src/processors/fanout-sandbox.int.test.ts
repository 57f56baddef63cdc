// A topic fan-out renders under the same budget as an API request: a template too expensive or too large fails its batch, never the worker.
import { createFanoutQueue, newId, type FanoutJob } from '@notify/core/platform';
import { getBatch } from '@notify/core/notifications';
import { addFanoutJob } from '@notify/core/outbox';
import { closeRenderPool, createTemplate, DEFAULT_RENDER_POOL } from '@notify/core/content';
import { TemplateBody } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import type { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFanoutWorker } from '../channel-worker.js';

let t: TestEnv;
let fanoutQueue: Queue<FanoutJob>;
let worker: Worker<FanoutJob>;

beforeAll(async () => {
  t = await createTestEnv();
  fanoutQueue = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
  worker = createFanoutWorker({
    connection: t.workerRedis,
    prefix: t.env.QUEUE_PREFIX,
    deps: { db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, fanout: fanoutQueue },
    log: t.log,
  });
  await t.db.prisma.topic.create({ data: { appId: t.appId, key: 'all' } });
  const users = Array.from({ length: 50 }, (_, i) => `fan-${i}`);
  await t.db.prisma.user.createMany({ data: users.map((id, i) => ({ appId: t.appId, id, locale: i % 2 ? 'de' : 'en' })) });
  await t.db.prisma.topicSubscription.createMany({ data: users.map((userId) => ({ appId: t.appId, topicKey: 'all', userId })) });
  const nested = '{% for a in (1..2000) %}{% for b in (1..2000) %}{% endfor %}{% endfor %}';
  // 16.8 MB: a 1,000-character line 16,800 times.
  const huge = `{% for a in (1..16800) %}${'x'.repeat(1000)}{% endfor %}`;
  await createTemplate(t.db, t.appId, 'nested', TemplateBody.parse({ locales: { en: { in_app: { body: nested } }, de: { in_app: { body: `de ${nested}` } } } }));
  await createTemplate(t.db, t.appId, 'huge', TemplateBody.parse({ locales: { en: { in_app: { body: huge } } } }));
});
afterAll(async () => {
  await worker?.close();
  await fanoutQueue?.close();
  await t?.close();
  await closeRenderPool();
});

/**
 * A batch as an API with other limits (or from before them) would have
 * accepted it: the row and its job, without the accept-time check.
 */
async function acceptedFanout(template: string): Promise<string> {
  const id = newId();
  const request = { template, template_version: 1, channels: ['in_app'], priority: 'normal', data: {} };
  await t.db.pool.query(`INSERT INTO batches (id, app_id, kind, topic_key, request, status) VALUES ($1, $2, 'topic', 'all', $3, 'creating')`, [
    id,
    t.appId,
    JSON.stringify(request),
  ]);
  await addFanoutJob(fanoutQueue, id);
  return id;
}

/** The worker's event loop: the longest gap between 10 ms ticks while `work` runs. */
async function loopLagWhile<T>(work: Promise<T>): Promise<{ result: T; lagMs: number }> {
  let last = performance.now();
  let lagMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    lagMs = Math.max(lagMs, now - last - 10);
    last = now;
  }, 10);
  try {
    return { result: await work, lagMs };
  } finally {
    clearInterval(tick);
  }
}

describe('topic fan-out rendering', () => {
  it.each([
    ['nested', 'template_too_expensive'],
    ['huge', 'template_output_too_large'],
  ])('a %s template fails the batch at once with %s, creating nothing, the loop never held', async (template, code) => {
    const id = await acceptedFanout(template);
    const start = performance.now();
    const { result: job, lagMs } = await loopLagWhile(
      waitFor(
        async () => {
          const j = await fanoutQueue.getJob(id);
          return j && (await j.isFailed()) ? j : undefined;
        },
        20_000,
        'the fan-out job to fail',
      ),
    );
    expect(performance.now() - start).toBeLessThan(DEFAULT_RENDER_POOL.timeMs + 4000);
    const failed = (await fanoutQueue.getJob(job.id!))!;
    expect(failed.failedReason).toContain(code);
    // Unrecoverable: one attempt, no retry of a render that can never pass.
    expect(failed.attemptsMade).toBe(1);
    // A render on the loop would hold it for the whole 1 s budget; the rest is a busy machine's scheduler.
    expect(lagMs).toBeLessThan(300);
    const batch = await getBatch(t.db, t.appId, id);
    expect(batch).toMatchObject({ status: 'failed', complete: false, notifications: 0 });
    // The worker is free: the next fan-out (a plain message) completes.
    const ok = newId();
    await t.db.pool.query(`INSERT INTO batches (id, app_id, kind, topic_key, request, status) VALUES ($1, $2, 'topic', 'all', $3, 'creating')`, [
      ok,
      t.appId,
      JSON.stringify({ message: 'hello', channels: ['in_app'], priority: 'normal' }),
    ]);
    await addFanoutJob(fanoutQueue, ok);
    await waitFor(async () => ((await getBatch(t.db, t.appId, ok)).status === 'created' ? true : undefined), 20_000, 'the next fan-out');
    expect((await getBatch(t.db, t.appId, ok)).notifications).toBe(50);
  });
});
