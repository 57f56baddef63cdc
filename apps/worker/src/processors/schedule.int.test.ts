import { createFanoutQueue, createSchedulesQueue, createWorkflowsQueue, type ScheduleJob } from '@notify/core/platform';
import { withWriter } from '@notify/core/notifications';
import { createSchedule, deleteSchedule, fireSchedule, getSchedule, reconcileSchedulers, setSchedulePaused, type FireDeps, type ScheduleDeps } from '@notify/core/schedules';
import { CreateScheduleBody, TemplateBody, WorkflowBody } from '@notify/core/schemas';
import { createWorkflow } from '@notify/core/workflows';
import { createTemplate, updateTemplate } from '@notify/core/content';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import type { Queue, Worker } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduleWorker } from '../channel-worker.js';

let t: TestEnv;
let store: ScheduleDeps;
let deps: FireDeps;
let queue: Queue<ScheduleJob>;
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  queue = createSchedulesQueue(t.redis, t.env.QUEUE_PREFIX);
  store = { db: t.db, schedules: queue };
  deps = withWriter({
    db: t.db,
    queues: t.queues,
    retry: { attempts: 4, baseDelayMs: 100 },
    log: t.log,
    fanout: createFanoutQueue(t.redis, t.env.QUEUE_PREFIX),
    workflows: createWorkflowsQueue(t.redis, t.env.QUEUE_PREFIX),
  });
  await t.db.pool.query(
    `INSERT INTO users (id, app_id, timezone, updated_at) VALUES ('paris', $1, 'Europe/Paris', now()), ('tokyo', $1, 'Asia/Tokyo', now()), ('nozone', $1, NULL, now())`,
    [t.appId],
  );
  await t.db.pool.query(`INSERT INTO topics (app_id, key, created_at) VALUES ($1, 'everyone', now())`, [t.appId]);
  await t.db.pool.query(
    `INSERT INTO topic_subscriptions (app_id, topic_key, user_id, created_at) SELECT $1, 'everyone', u, now() FROM unnest(ARRAY['paris', 'tokyo', 'nozone']) AS u`,
    [t.appId],
  );
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  await Promise.all([queue?.close(), deps?.fanout.close(), deps?.workflows.close()]);
  await t?.close();
});

const startWorker = () => {
  const worker = createScheduleWorker({ connection: t.workerRedis, prefix: t.env.QUEUE_PREFIX, deps, log: t.log });
  workers.push(worker);
  return worker;
};

const schedule = (body: Record<string, unknown>) =>
  createSchedule(store, t.appId, CreateScheduleBody.parse({ cron: '*/2 * * * * *', timezone: 'UTC', notification: { message: 'tick', channels: ['in_app'] }, ...body }));

/** The notifications a schedule made, each with its occurrence (from its idempotency key) and send_at. */
async function sent(scheduleId: string) {
  const { rows } = await t.db.pool.query<{ user_id: string; idempotency_key: string; send_at: Date | null; batch_id: string | null }>(
    `SELECT user_id, idempotency_key, send_at, batch_id FROM notifications WHERE idempotency_key LIKE $1 ORDER BY idempotency_key, user_id`,
    [`schedule:${scheduleId}:%`],
  );
  return rows;
}

const fired = async (id: string) => (await getSchedule(t.db, t.appId, id)).fired;

describe('firing on a BullMQ job scheduler', () => {
  it('every 2 seconds with two workers on the queue: 3 occurrences make 3 notifications, not 6', async () => {
    startWorker();
    startWorker();
    const s = await schedule({ target: { user_id: 'paris' } });
    await waitFor(async () => ((await fired(s.id)) >= 3 ? true : undefined), 15_000, 'three occurrences');
    await setSchedulePaused(store, t.appId, s.id, true);
    await sleep(2500);
    const rows = await sent(s.id);
    const after = await getSchedule(t.db, t.appId, s.id);
    expect(rows).toHaveLength(after.fired);
    expect(after.fired).toBeGreaterThanOrEqual(3);
    expect(after.fired).toBeLessThanOrEqual(4);
    expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(rows.length);
    // Each occurrence is an even second, 2 s apart.
    const times = rows.map((r) => Date.parse(r.idempotency_key.split(':').slice(2).join(':')));
    for (const [i, at] of times.entries()) {
      expect(at % 2000).toBe(0);
      if (i > 0) expect(at - times[i - 1]!).toBe(2000);
    }
    expect(after.last_fired_at).toBe(new Date(times.at(-1)!).toISOString());
  });

  it('pause stops firing and resume starts again; delete removes the scheduler', async () => {
    startWorker();
    const s = await schedule({ target: { user_id: 'tokyo' } });
    await waitFor(async () => ((await fired(s.id)) >= 1 ? true : undefined), 10_000, 'a first occurrence');
    await setSchedulePaused(store, t.appId, s.id, true);
    const atPause = (await sent(s.id)).length;
    await sleep(4500);
    expect((await sent(s.id)).length).toBe(atPause);
    await setSchedulePaused(store, t.appId, s.id, false);
    await waitFor(async () => ((await sent(s.id)).length > atPause ? true : undefined), 10_000, 'an occurrence after resuming');
    await deleteSchedule(store, t.appId, s.id);
    expect(await queue.getJobScheduler(s.id)).toBeUndefined();
    await sleep(500);
    const atDelete = (await sent(s.id)).length;
    await sleep(4500);
    expect((await sent(s.id)).length).toBe(atDelete);
  });

  it('occurrences missed while no worker ran are sent once when one comes back, not once per missed slot', async () => {
    const s = await schedule({ target: { user_id: 'nozone' } });
    await sleep(7000);
    const back = Date.now();
    startWorker();
    await waitFor(async () => ((await sent(s.id)).length >= 1 ? true : undefined), 10_000, 'the missed occurrence');
    await sleep(3000);
    await setSchedulePaused(store, t.appId, s.id, true);
    const occurrences = (await sent(s.id)).map((r) => Date.parse(r.idempotency_key.split(':').slice(2).join(':')));
    expect(occurrences.filter((at) => at < back)).toHaveLength(1);
    // And the schedule goes on from the next slot.
    expect(occurrences.filter((at) => at >= back).length).toBeGreaterThanOrEqual(1);
  });

  it('an occurrence whose schedule was paused (or deleted) after its job was made sends nothing', async () => {
    const s = await schedule({ target: { user_id: 'paris' } });
    // The row says paused, the job scheduler is still there: the row wins.
    await t.db.pool.query('UPDATE schedules SET paused = true WHERE id = $1', [s.id]);
    startWorker();
    await sleep(4500);
    expect(await sent(s.id)).toEqual([]);
    expect(await fireSchedule(deps, s.id, new Date())).toEqual({ fired: false, reason: 'paused' });
    await t.db.pool.query('DELETE FROM schedules WHERE id = $1', [s.id]);
    expect(await fireSchedule(deps, s.id, new Date())).toEqual({ fired: false, reason: 'deleted' });
    await queue.removeJobScheduler(s.id);
  });
  it('an occurrence the API would now refuse (its template no longer renders) fails once, without retries, and sends nothing', async () => {
    await createTemplate(t.db, t.appId, 'weekly_note', TemplateBody.parse({ locales: { en: { in_app: { body: 'Week {{ week }}' } } } }));
    const s = await schedule({ target: { user_id: 'paris' }, notification: { template: 'weekly_note', data: { week: 1 } } });
    await updateTemplate(t.db, t.appId, 'weekly_note', TemplateBody.parse({ locales: { en: { in_app: { body: 'Week {{ week }} of {{ year }}' } } } }));
    const worker = startWorker();
    const failed = new Promise<{ attempts: number; message: string }>((resolve) =>
      worker.on('failed', (job, err) => resolve({ attempts: job?.attemptsMade ?? 0, message: err.message })),
    );
    const failure = await failed;
    await setSchedulePaused(store, t.appId, s.id, true);
    expect(failure.message).toMatch(/^validation_failed: /);
    expect(failure.attempts).toBe(1);
    expect(await sent(s.id)).toEqual([]);
    expect(await fired(s.id)).toBe(0);
  });
});

describe('one occurrence', () => {
  // Monday 7 December 2026, 09:00 in Kiritimati (UTC+14).
  const occurrence = new Date('2026-12-06T19:00:00Z');

  it('with timezone "user": each recipient gets send_at at 09:00 in their own zone (UTC without one), once however often it fires', async () => {
    const s = await schedule({ cron: '0 9 * * 1', timezone: 'user', target: { topic: 'everyone' } });
    await queue.removeJobScheduler(s.id);
    expect(await fireSchedule(deps, s.id, occurrence)).toEqual({ fired: true, sent: 3 });
    expect(await fireSchedule(deps, s.id, occurrence)).toEqual({ fired: true, sent: 3 });
    const rows = await sent(s.id);
    expect(rows.map((r) => [r.user_id, r.send_at?.toISOString()])).toEqual([
      ['nozone', '2026-12-07T09:00:00.000Z'],
      ['paris', '2026-12-07T08:00:00.000Z'],
      ['tokyo', '2026-12-07T00:00:00.000Z'],
    ]);
    const after = await getSchedule(t.db, t.appId, s.id);
    expect(after).toMatchObject({ fired: 1, last_fired_at: occurrence.toISOString() });
  });

  it('a user target in their zone, and a topic in a fixed zone (one fan-out batch per occurrence)', async () => {
    const mine = await schedule({ cron: '0 9 * * 1', timezone: 'user', target: { user_id: 'tokyo' } });
    await queue.removeJobScheduler(mine.id);
    await fireSchedule(deps, mine.id, occurrence);
    expect((await sent(mine.id)).map((r) => r.send_at?.toISOString())).toEqual(['2026-12-07T00:00:00.000Z']);

    const topic = await schedule({ cron: '0 9 * * 1', timezone: 'Europe/Paris', target: { topic: 'everyone' } });
    await queue.removeJobScheduler(topic.id);
    await fireSchedule(deps, topic.id, occurrence);
    await fireSchedule(deps, topic.id, occurrence);
    const { rows } = await t.db.pool.query<{ id: string }>(`SELECT b.id FROM batches b JOIN idempotency_keys k ON k.batch_id = b.id WHERE k.key = $1`, [
      `schedule:${topic.id}:${occurrence.toISOString()}`,
    ]);
    expect(rows).toHaveLength(1);
  });

  it('a workflow target triggers one run per user per occurrence, with the schedule on each run', async () => {
    await createWorkflow(t.db, t.appId, 'weekly_flow', WorkflowBody.parse({ steps: [{ id: 'inbox', type: 'send', channels: ['in_app'], message: 'Week {{ data.week }}' }] }));
    const s = await createSchedule(
      store,
      t.appId,
      CreateScheduleBody.parse({ cron: '0 9 * * 1', timezone: 'Europe/Paris', target: { workflow: 'weekly_flow', user_ids: ['paris', 'tokyo'] }, data: { week: 50 } }),
    );
    await queue.removeJobScheduler(s.id);
    expect(await fireSchedule(deps, s.id, occurrence)).toEqual({ fired: true, sent: 2 });
    expect(await fireSchedule(deps, s.id, occurrence)).toEqual({ fired: true, sent: 2 });
    const { rows } = await t.db.pool.query<{ user_id: string; data: unknown }>('SELECT user_id, data FROM workflow_runs WHERE schedule_id = $1 ORDER BY user_id', [s.id]);
    expect(rows).toEqual([
      { user_id: 'paris', data: { week: 50 } },
      { user_id: 'tokyo', data: { week: 50 } },
    ]);
  });
});

describe('the maintenance sweep', () => {
  it("makes the job schedulers agree with the rows: adds a lost one, removes a paused or deleted schedule's", async () => {
    const lost = await schedule({ cron: '0 9 * * 1', target: { user_id: 'paris' } });
    const paused = await schedule({ cron: '0 9 * * 1', target: { user_id: 'paris' } });
    const deleted = await schedule({ cron: '0 9 * * 1', target: { user_id: 'paris' } });
    // What a commit that failed after the Redis change (or a Redis that lost its data) leaves behind.
    await queue.removeJobScheduler(lost.id);
    await t.db.pool.query('UPDATE schedules SET paused = true WHERE id = $1', [paused.id]);
    await t.db.pool.query('DELETE FROM schedules WHERE id = $1', [deleted.id]);
    const { added, removed } = await reconcileSchedulers(t.db.pool, queue);
    expect(added).toBeGreaterThanOrEqual(1);
    expect(removed).toBeGreaterThanOrEqual(2);
    expect(await queue.getJobScheduler(lost.id)).toMatchObject({ pattern: '0 9 * * 1', tz: 'UTC', next: Date.parse(lost.next_occurrences[0]!) });
    expect(await queue.getJobScheduler(paused.id)).toBeUndefined();
    expect(await queue.getJobScheduler(deleted.id)).toBeUndefined();
    // Agreeing already: nothing to do.
    expect(await reconcileSchedulers(t.db.pool, queue)).toEqual({ added: 0, removed: 0 });
  });
});
