import { createSchedulesQueue, workflowStepJobId } from '@notify/core/platform';
import type { AuditEventPage, Notification, Schedule, WorkflowRun, WorkflowTrigger } from '@notify/core/schemas';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let schedulers: Queue;
beforeAll(async () => {
  t = await createTestApp();
  schedulers = createSchedulesQueue(t.redis, t.env.QUEUE_PREFIX);
  // No worker runs here: a triggered run waits at its first step, with its job queued.
  expect((await t.call('POST', '/workflows', { key: 'nudge', steps: [{ id: 'wait', type: 'delay', duration: '1h' }] })).status).toBe(201);
});
afterAll(async () => {
  await schedulers?.close();
  await t?.close();
});

const hourly = { cron: '0 * * * *', timezone: 'UTC', notification: { message: 'Hourly', channels: ['in_app'] } };

async function trigger(userIds: string[]): Promise<WorkflowTrigger> {
  const res = await t.call('POST', '/workflows/nudge/trigger', { user_ids: userIds, data: { secret: 'personal' } });
  expect(res.status).toBe(202);
  return json<WorkflowTrigger>(res);
}

async function schedule(body: unknown): Promise<Schedule> {
  const res = await t.call('POST', '/schedules', body);
  expect(res.status).toBe(201);
  return json<Schedule>(res);
}

/** The job a run waits on in the workflows queue. */
async function stepJob(runId: string) {
  const run = await json<WorkflowRun>(await t.call('GET', `/workflow-runs/${runId}`));
  return t.deps.workflows.getJob(workflowStepJobId(runId, 0, new Date(run.next_at ?? run.created_at)));
}

/** Every row in every table that mentions the user. */
async function rowsAbout(userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const q = async (name: string, sql: string) => {
    counts[name] = (await t.db.pool.query<{ n: number }>(sql, [t.appId, userId])).rows[0]!.n;
  };
  await q('users', 'SELECT count(*)::int AS n FROM users WHERE app_id = $1 AND id = $2');
  await q('devices', 'SELECT count(*)::int AS n FROM devices WHERE app_id = $1 AND user_id = $2');
  await q('preferences', 'SELECT count(*)::int AS n FROM preferences WHERE app_id = $1 AND user_id = $2');
  await q('notifications', 'SELECT count(*)::int AS n FROM notifications WHERE app_id = $1 AND user_id = $2');
  await q('deliveries', 'SELECT count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.app_id = $1 AND n.user_id = $2');
  await q('inbox_items', 'SELECT count(*)::int AS n FROM inbox_items WHERE app_id = $1 AND user_id = $2');
  await q('topic_subscriptions', 'SELECT count(*)::int AS n FROM topic_subscriptions WHERE app_id = $1 AND user_id = $2');
  await q('status_events', 'SELECT count(*)::int AS n FROM status_events WHERE app_id = $1 AND user_id = $2');
  await q('idempotency_keys', `SELECT count(*)::int AS n FROM idempotency_keys WHERE app_id = $1 AND response->>'user_id' = $2`);
  await q('workflow_runs', 'SELECT count(*)::int AS n FROM workflow_runs WHERE app_id = $1 AND user_id = $2');
  await q('workflow_run_steps', 'SELECT count(*)::int AS n FROM workflow_run_steps s JOIN workflow_runs r ON r.id = s.run_id WHERE r.app_id = $1 AND r.user_id = $2');
  await q('schedules', `SELECT count(*)::int AS n FROM schedules WHERE app_id = $1 AND (target->>'user_id' = $2 OR target->'user_ids' ? $2)`);
  return counts;
}

describe('DELETE /users/{user_id}', () => {
  it('leaves no rows and no jobs for the user, and later notifications send nothing until they are created again', async () => {
    await t.call('PUT', '/users/gone', {
      email: 'gone@example.com',
      phone: '+14155550100',
      devices: [{ kind: 'fcm', token: 'tok-1' }],
    });
    await t.call('POST', '/users/gone/preferences', { channels: { sms: false } });
    await t.call('POST', '/topics/news/subscribers', { user_ids: ['gone', 'stays'] });
    const made: Notification[] = [];
    for (const body of [
      { user_id: 'gone', message: 'Hi', channels: ['email', 'push', 'in_app'] },
      { user_id: 'gone', message: 'Later', channels: ['email'], send_at: new Date(Date.now() + 3_600_000).toISOString() },
    ]) {
      made.push(await json<Notification>(await t.call('POST', '/notifications', body, { 'idempotency-key': `k-${made.length}` })));
    }
    await t.db.prisma.inboxItem.create({
      data: { id: '01a20a00-0000-7000-8000-0000000000aa', appId: t.appId, userId: 'gone', notificationId: made[0]!.id, deliveryId: made[0]!.deliveries[2]!.id, body: 'Hi' },
    });
    const jobs = made.flatMap((n) => n.deliveries.filter((d) => d.status === 'queued'));
    expect(jobs.length).toBe(4);
    for (const d of jobs) expect(await t.queues[d.channel].getJob(d.id)).toBeDefined();
    expect(Object.values(await rowsAbout('gone')).some((n) => n > 0)).toBe(true);

    const res = await t.call('DELETE', '/users/gone');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ user_id: 'gone', notifications: 2, deliveries: 4, inbox_items: 1, jobs_removed: 4 });

    expect(await rowsAbout('gone')).toEqual({
      users: 0,
      devices: 0,
      preferences: 0,
      notifications: 0,
      deliveries: 0,
      inbox_items: 0,
      topic_subscriptions: 0,
      status_events: 0,
      idempotency_keys: 0,
      workflow_runs: 0,
      workflow_run_steps: 0,
      schedules: 0,
    });
    for (const d of jobs) expect(await t.queues[d.channel].getJob(d.id)).toBeUndefined();
    expect((await t.call('GET', '/users/gone')).status).toBe(404);
    expect(await t.db.prisma.topicSubscription.count({ where: { userId: 'stays' } })).toBe(1);

    // Nothing goes out to the erased id, not even the inbox...
    const after = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'gone', message: 'x', channels: ['in_app'], category: 'security' }));
    expect(after.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'erased' });
    // ...until the user is created again.
    await t.call('PUT', '/users/gone', { email: 'back@example.com' });
    const back = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'gone', message: 'x', channels: ['in_app'] }));
    expect(back.deliveries[0]!.status).toBe('queued');
  });

  it("removes the user's workflow runs with their pending step jobs and the schedules sending to them alone, and nobody else's", async () => {
    await t.call('PUT', '/users/wf-gone', { email: 'wf-gone@example.com' });
    const mine = await trigger(['wf-gone']);
    const shared = await trigger(['wf-gone', 'wf-stays']);
    // A finished run has no job left, yet its data goes too.
    const ended = (await trigger(['wf-gone'])).runs[0]!.id;
    expect((await t.call('POST', `/workflow-runs/${ended}/cancel`)).status).toBe(200);
    const pending = [mine.runs[0]!.id, shared.runs[0]!.id];
    const staysRun = shared.runs[1]!.id;
    for (const id of [...pending, staysRun]) expect(await stepJob(id)).toBeDefined();
    const alone = await schedule({ ...hourly, target: { user_id: 'wf-gone' } });
    const paused = await schedule({ ...hourly, target: { user_id: 'wf-gone' } });
    expect((await t.call('POST', `/schedules/${paused.id}/pause`)).status).toBe(200);
    // A workflow's schedule for this user alone goes too, by user_id or as the only one of its user_ids.
    const workflowAlone = await schedule({ cron: '0 * * * *', timezone: 'UTC', target: { workflow: 'nudge', user_id: 'wf-gone' } });
    const workflowListAlone = await schedule({ cron: '0 * * * *', timezone: 'UTC', target: { workflow: 'nudge', user_ids: ['wf-gone'] } });
    // Schedules that also send to others stay: a workflow's with this user among several (without them now), another user's.
    const group = await schedule({ cron: '0 * * * *', timezone: 'UTC', target: { workflow: 'nudge', user_ids: ['wf-gone', 'wf-stays'] } });
    const others = await schedule({ ...hourly, target: { user_id: 'wf-stays' } });
    expect(await schedulers.getJobScheduler(alone.id)).toBeDefined();

    const res = await t.call('DELETE', '/users/wf-gone');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ user_id: 'wf-gone', workflow_runs: 3, schedules: 4, jobs_removed: 2 });

    expect(await rowsAbout('wf-gone')).toMatchObject({ workflow_runs: 0, workflow_run_steps: 0, schedules: 0 });
    for (const id of pending) {
      expect(await t.deps.workflows.getJobs(['delayed', 'waiting', 'prioritized'])).not.toContainEqual(expect.objectContaining({ data: expect.objectContaining({ run_id: id }) }));
    }
    expect((await t.call('GET', `/workflow-runs/${pending[0]}`)).status).toBe(404);
    expect(await schedulers.getJobScheduler(alone.id)).toBeUndefined();
    expect((await t.call('GET', `/schedules/${alone.id}`)).status).toBe(404);
    for (const s of [paused, workflowAlone, workflowListAlone]) expect((await t.call('GET', `/schedules/${s.id}`)).status).toBe(404);
    expect(await schedulers.getJobScheduler(workflowAlone.id)).toBeUndefined();
    expect(await json<Schedule>(await t.call('GET', `/schedules/${group.id}`))).toMatchObject({ target: { workflow: 'nudge', user_ids: ['wf-stays'] } });
    // The other user's run and job, and the schedules shared with others, are untouched.
    expect(await json<WorkflowRun>(await t.call('GET', `/workflow-runs/${staysRun}`))).toMatchObject({ status: 'running', data: { secret: 'personal' } });
    expect(await stepJob(staysRun)).toBeDefined();
    for (const s of [group, others]) {
      expect((await t.call('GET', `/schedules/${s.id}`)).status).toBe(200);
      expect(await schedulers.getJobScheduler(s.id)).toBeDefined();
    }
    // The audit record holds the counts, not the data.
    const audit = await json<AuditEventPage>(await t.call('GET', '/audit-events?action=user.erased&target_id=wf-gone'));
    expect(audit.data[0]?.summary).toMatchObject({ workflow_runs: 3, schedules: 4 });
  });

  it('is idempotent: erasing an unknown user answers zeros', async () => {
    const res = await t.call('DELETE', '/users/never-seen');
    expect(res.status).toBe(200);
    expect(await json<Record<string, unknown>>(res)).toMatchObject({ notifications: 0, deliveries: 0, workflow_runs: 0, schedules: 0, jobs_removed: 0 });
  });
});
