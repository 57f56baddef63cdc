import type { NotificationPage, Schedule } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, type ApiService } from './processes.js';

let t: TestEnv;
let api: ApiService;

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
});
afterAll(async () => {
  await stopAll();
  await t?.close();
});

async function everyTwoSeconds(userId: string): Promise<Schedule> {
  const res = await api.call('POST', '/schedules', {
    cron: '*/2 * * * * *',
    timezone: 'UTC',
    target: { user_id: userId },
    notification: { message: 'tick', channels: ['in_app'] },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Schedule;
}

const scheduleOf = async (id: string) => (await (await api.call('GET', `/schedules/${id}`)).json()) as Schedule;
const notificationsOf = async (userId: string) => ((await (await api.call('GET', `/users/${userId}/notifications?limit=100`)).json()) as NotificationPage).data;

describe('recurring schedules across worker processes', () => {
  it('every 2 seconds with 2 worker processes: 3 occurrences, 3 notifications delivered (not 6)', async () => {
    const workers = [await startWorker(t, ['in_app']), await startWorker(t, ['in_app'])];
    const s = await everyTwoSeconds('e2e-two');
    await waitFor(async () => ((await scheduleOf(s.id)).fired >= 3 ? true : undefined), 20_000, 'three occurrences');
    expect((await api.call('POST', `/schedules/${s.id}/pause`)).status).toBe(200);
    // An occurrence already taken when the pause landed finishes; then nothing more.
    await sleep(1000);
    const { fired } = await scheduleOf(s.id);
    await sleep(4000);
    expect((await scheduleOf(s.id)).fired).toBe(fired);
    const notifications = await waitFor(async () => {
      const list = await notificationsOf('e2e-two');
      return list.every((n) => n.status === 'delivered') ? list : undefined;
    });
    expect(fired).toBeGreaterThanOrEqual(3);
    expect(fired).toBeLessThanOrEqual(4);
    expect(notifications).toHaveLength(fired);
    await Promise.all(workers.map((w) => w.stop('SIGTERM')));
  });

  it('with every worker process down for several occurrences, a worker that comes back sends the missed occurrence once', async () => {
    const s = await everyTwoSeconds('e2e-outage');
    await sleep(7000);
    expect(await notificationsOf('e2e-outage')).toEqual([]);
    const back = Date.now();
    await startWorker(t, ['in_app']);
    await waitFor(async () => ((await notificationsOf('e2e-outage')).length >= 1 ? true : undefined), 20_000, 'the missed occurrence');
    // Long enough for a second fire of each missed slot, were there one.
    await sleep(1500);
    expect((await api.call('POST', `/schedules/${s.id}/pause`)).status).toBe(200);
    // Each notification's idempotency key names its occurrence: one of those before the worker came back.
    const { rows } = await t.db.pool.query<{ key: string }>(`SELECT idempotency_key AS key FROM notifications WHERE idempotency_key LIKE $1`, [`schedule:${s.id}:%`]);
    const occurrences = rows.map((r) => Date.parse(r.key.slice(`schedule:${s.id}:`.length)));
    expect(occurrences.filter((at) => at < back)).toHaveLength(1);
    expect(rows).toHaveLength((await scheduleOf(s.id)).fired);
  });
});
