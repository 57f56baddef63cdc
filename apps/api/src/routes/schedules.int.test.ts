import { createKey, ensureApp } from '@notify/core/access';
import { createRedis, createSchedulesQueue } from '@notify/core/platform';
import type { AuditEventPage, Schedule, SchedulePage } from '@notify/core/schemas';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let schedulers: Queue;
let theirs: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  schedulers = createSchedulesQueue(t.redis, t.env.QUEUE_PREFIX);
  theirs = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'other-tenant'), 'other')).key}` };
  await t.call('POST', '/topics/weekly/subscribers', { user_ids: ['s-1', 's-2'] });
  await t.call('POST', '/templates', { key: 'digest_mail', locales: { en: { email: { subject: 'Week {{ week }}', text: 'Your week {{ week }}' } } } });
});
afterAll(async () => {
  await schedulers?.close();
  await t?.close();
});

const weekly = { cron: '0 9 * * 1', timezone: 'Europe/Paris', target: { user_id: 's-1' }, notification: { message: 'Your weekly summary', channels: ['in_app'] } };

async function create(body: unknown): Promise<Schedule> {
  const res = await t.call('POST', '/schedules', body);
  expect(res.status).toBe(201);
  return json<Schedule>(res);
}

const rows = async () => (await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM schedules')).rows[0]!.n;

describe('POST /schedules', () => {
  it('creates a schedule with its job scheduler, and shows its next occurrences in its zone', async () => {
    const s = await create(weekly);
    expect(s).toMatchObject({ cron: '0 9 * * 1', timezone: 'Europe/Paris', target: { user_id: 's-1' }, paused: false, fired: 0, last_fired_at: null, data: null });
    expect(s.notification).toMatchObject({ message: 'Your weekly summary', priority: 'normal' });
    expect(s.next_occurrences).toHaveLength(5);
    for (const at of s.next_occurrences) {
      const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(at));
      expect(paris).toBe('Mon 09:00');
    }
    const scheduler = await schedulers.getJobScheduler(s.id);
    expect(scheduler).toMatchObject({ pattern: '0 9 * * 1', tz: 'Europe/Paris' });
    expect(scheduler?.next).toBe(new Date(s.next_occurrences[0]!).getTime());
    expect(await json<Schedule>(await t.call('GET', `/schedules/${s.id}`))).toEqual({ ...s, next_occurrences: expect.any(Array) });
  });

  it('with timezone "user", fires in the earliest zone (Pacific/Kiritimati) and says "user"', async () => {
    const s = await create({ ...weekly, timezone: 'user', target: { topic: 'weekly' } });
    expect(s.timezone).toBe('user');
    expect((await schedulers.getJobScheduler(s.id))?.tz).toBe('Pacific/Kiritimati');
    const kiritimati = new Intl.DateTimeFormat('en-GB', { timeZone: 'Pacific/Kiritimati', hour: '2-digit', minute: '2-digit' }).format(new Date(s.next_occurrences[0]!));
    expect(kiritimati).toBe('09:00');
  });

  it('takes a template with data, a topic, and 6-field (seconds) cron expressions', async () => {
    const s = await create({ cron: '*/30 * * * * *', timezone: 'UTC', target: { topic: 'weekly' }, notification: { template: 'digest_mail', data: { week: 48 } } });
    expect(new Date(s.next_occurrences[1]!).getTime() - new Date(s.next_occurrences[0]!).getTime()).toBe(30_000);
  });

  it.each([
    ['a cron expression that does not parse', { cron: 'every monday' }, 'cron'],
    ['a field out of range', { cron: '61 * * * *' }, 'cron'],
    ['a cron expression that never occurs', { cron: '0 0 30 2 *' }, 'cron'],
    ['an unknown time zone', { timezone: 'Mars/Olympus' }, 'timezone'],
    ['an unknown topic', { target: { topic: 'nobody' } }, 'target.topic'],
    ['an unknown workflow', { target: { workflow: 'nothing', user_id: 's-1' }, notification: undefined, data: {} }, 'target.workflow'],
    ['an unknown template', { notification: { template: 'nope' } }, 'notification.template'],
    ['a template that does not render with the data', { notification: { template: 'digest_mail', data: {} } }, 'notification.locales.en.template.email.subject'],
    ['no content', { notification: undefined }, 'notification'],
    ['a message without channels', { notification: { message: 'hi' } }, 'notification.channels'],
    ['send_at in the content', { notification: { ...weekly.notification, send_at: '2030-01-01T00:00:00Z' } }, 'notification'],
    ['data for a user target', { data: { a: 1 } }, 'data'],
    ['both a user and a topic', { target: { user_id: 's-1', topic: 'weekly' } }, 'target.user_id'],
    ['user_ids without a workflow', { target: { user_ids: ['s-1'] } }, 'target.user_ids'],
    ['notification for a workflow target', { target: { workflow: 'w', user_id: 's-1' } }, 'notification'],
    ['timezone "user" for a workflow target', { timezone: 'user', target: { workflow: 'w', user_id: 's-1' }, notification: undefined }, 'timezone'],
  ])('refuses %s (422 naming the field), writing nothing', async (_what, change, path) => {
    const before = await rows();
    const schedulersBefore = await schedulers.getJobSchedulersCount();
    const res = await t.call('POST', '/schedules', { ...weekly, ...change });
    expect(res.status).toBe(422);
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('validation_failed');
    expect(
      body.error.details?.some((d) => d.path.startsWith(path)),
      JSON.stringify(body.error.details),
    ).toBe(true);
    expect(await rows()).toBe(before);
    expect(await schedulers.getJobSchedulersCount()).toBe(schedulersBefore);
  });

  it('records who created it in the audit log', async () => {
    const s = await create(weekly);
    const audit = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_type=schedule&target_id=${s.id}`));
    expect(audit.data.map((e) => e.action)).toEqual(['schedule.created']);
    expect(audit.data[0]!.summary).toEqual({ cron: '0 9 * * 1', timezone: 'Europe/Paris', target_kind: 'user' });
  });
});

describe('GET /schedules', () => {
  it('pages newest first, and refuses a cursor it did not give (400)', async () => {
    const made = [await create(weekly), await create(weekly), await create(weekly)];
    const first = await json<SchedulePage>(await t.call('GET', '/schedules?limit=2'));
    expect(first.data.map((s) => s.id)).toEqual([made[2]!.id, made[1]!.id]);
    const second = await json<SchedulePage>(await t.call('GET', `/schedules?limit=2&cursor=${first.next_cursor}`));
    expect(second.data[0]!.id).toBe(made[0]!.id);
    expect((await t.call('GET', '/schedules?cursor=nope')).status).toBe(400);
  });
});

describe('pause, resume, delete', () => {
  it('pausing removes the job scheduler, resuming adds it again, each once in the audit log', async () => {
    const s = await create(weekly);
    const paused = await json<Schedule>(await t.call('POST', `/schedules/${s.id}/pause`));
    expect(paused).toMatchObject({ paused: true, next_occurrences: [] });
    expect(await schedulers.getJobScheduler(s.id)).toBeUndefined();
    // Again: nothing changes, nothing is recorded.
    expect((await t.call('POST', `/schedules/${s.id}/pause`)).status).toBe(200);
    const resumed = await json<Schedule>(await t.call('POST', `/schedules/${s.id}/resume`));
    expect(resumed).toMatchObject({ paused: false, next_occurrences: s.next_occurrences });
    expect((await schedulers.getJobScheduler(s.id))?.next).toBe(new Date(s.next_occurrences[0]!).getTime());
    expect((await t.call('POST', `/schedules/${s.id}/resume`)).status).toBe(200);
    const audit = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_type=schedule&target_id=${s.id}`));
    expect(audit.data.map((e) => e.action)).toEqual(['schedule.resumed', 'schedule.paused', 'schedule.created']);
  });

  it('deleting removes the schedule and its job scheduler (204, then 404)', async () => {
    const s = await create(weekly);
    expect((await t.call('DELETE', `/schedules/${s.id}`)).status).toBe(204);
    expect(await schedulers.getJobScheduler(s.id)).toBeUndefined();
    expect((await t.call('GET', `/schedules/${s.id}`)).status).toBe(404);
    expect((await t.call('DELETE', `/schedules/${s.id}`)).status).toBe(404);
    expect((await t.call('POST', `/schedules/${s.id}/resume`)).status).toBe(404);
    const audit = await json<AuditEventPage>(await t.call('GET', `/audit-events?target_type=schedule&target_id=${s.id}`));
    expect(audit.data.map((e) => e.action)).toEqual(['schedule.deleted', 'schedule.created']);
  });

  it('answers 404 for an id that is not a UUID', async () => {
    expect((await t.call('GET', '/schedules/not-an-id')).status).toBe(404);
    expect((await t.call('POST', '/schedules/not-an-id/pause')).status).toBe(404);
  });
});

describe('tenancy', () => {
  it("another app's key neither sees nor changes our schedules", async () => {
    const s = await create(weekly);
    for (const [method, path] of [
      ['GET', `/schedules/${s.id}`],
      ['POST', `/schedules/${s.id}/pause`],
      ['POST', `/schedules/${s.id}/resume`],
      ['DELETE', `/schedules/${s.id}`],
    ] as const) {
      expect((await t.call(method, path, undefined, theirs)).status).toBe(404);
    }
    expect((await json<SchedulePage>(await t.call('GET', '/schedules', undefined, theirs))).data).toEqual([]);
    // Our topic is not theirs either.
    const res = await t.call('POST', '/schedules', { ...weekly, target: { topic: 'weekly' } }, theirs);
    expect(res.status).toBe(422);
    expect(await json<Schedule>(await t.call('GET', `/schedules/${s.id}`))).toMatchObject({ paused: false });
    expect(await schedulers.getJobScheduler(s.id)).toBeDefined();
  });
});

describe('while Redis is down', () => {
  it('answers 503 to a change and writes nothing', async () => {
    const s = await create(weekly);
    const before = await rows();
    const redis = createRedis('redis://127.0.0.1:1', 'producer', { retryStrategy: () => null });
    const app = createApp({ ...t.deps, redis });
    const send = (method: string, path: string, body?: unknown) =>
      app.request(path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const res of [await send('POST', '/schedules', weekly), await send('POST', `/schedules/${s.id}/pause`), await send('DELETE', `/schedules/${s.id}`)]) {
      expect(res.status).toBe(503);
      expect((await json<ErrorJson>(res)).error.code).toBe('unavailable');
    }
    expect(await rows()).toBe(before);
    expect(await json<Schedule>(await t.call('GET', `/schedules/${s.id}`))).toMatchObject({ paused: false });
    expect(await schedulers.getJobScheduler(s.id)).toBeDefined();
    redis.disconnect();
  });
});
