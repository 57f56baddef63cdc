import type { Notification, WorkflowRun, WorkflowTrigger } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, type ApiService } from './processes.js';

let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await stopAll();
  await t?.close();
});

describe('a workflow run', () => {
  it('survives a restart of every process during a delay, and sends once when the delay ends', async () => {
    const api = await startApi(t);
    const worker = await startWorker(t, ['in_app']);
    const steps = [
      { id: 'wait', type: 'delay', duration: '6s' },
      { id: 'inbox', type: 'send', channels: ['in_app'], message: 'Still there?' },
    ];
    expect((await api.call('POST', '/workflows', { key: 'nudge', steps })).status).toBe(201);
    const res = await api.call('POST', '/workflows/nudge/trigger', { user_id: 'wf-restart' });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as WorkflowTrigger).runs[0]!.id;
    const run = (r: ApiService) => r.call('GET', `/workflow-runs/${id}`).then((x) => x.json() as Promise<WorkflowRun>);
    // The worker has begun the delay...
    const waiting = await waitFor(async () => {
      const r = await run(api);
      return r.steps[0]?.status === 'waiting' ? r : undefined;
    }, 10_000);
    const delayEnds = new Date(waiting.next_at!).getTime();

    // ...then every process goes away, and new ones come up.
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
    const api2 = await startApi(t);
    await startWorker(t, ['in_app']);

    const done = await waitFor(async () => {
      const r = await run(api2);
      return r.status === 'running' ? undefined : r;
    }, 30_000);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => s.status)).toEqual(['done', 'done']);
    expect(new Date(done.steps[1]!.finished_at!).getTime()).toBeGreaterThanOrEqual(delayEnds);
    const [notificationId] = done.steps[1]!.notification_ids;
    const sent = await waitFor(async () => {
      const n = (await (await api2.call('GET', `/notifications/${notificationId}`)).json()) as Notification;
      return n.status === 'pending' ? undefined : n;
    }, 20_000);
    expect(sent.status).toBe('delivered');
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: 'wf-restart' } })).toBe(1);
  });
});
