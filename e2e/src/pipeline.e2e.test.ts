import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization, startApi, startWorker, type ApiService, type Service } from './processes.js';

let t: TestEnv;
let api: ApiService;
const services: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
  services.push(api);
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await t?.close();
});

function send(method: 'POST' | 'PUT', path: string, body: unknown): Promise<Response> {
  return api.call(method, path, body);
}

async function getNotification(id: string): Promise<Notification> {
  return (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
}

describe('the built API and worker processes', () => {
  it('deliver a POSTed notification through the console provider, visible by GET and in Bull Board', async () => {
    expect((await send('PUT', '/users/123', { email: 'ada@example.com', phone: '+14155550100' })).status).toBe(201);
    const res = await send('POST', '/notifications', { user_id: '123', message: 'Hello', channels: ['email', 'sms', 'in_app'], priority: 'high' });
    expect(res.status).toBe(202);
    const { id, deliveries } = (await res.json()) as Notification;
    // Job data carries ids only: no address or message text in Redis (read while it waits: a completed job is removed).
    const job = await waitFor(() => t.queues.email.getJob(deliveries.find((d) => d.channel === 'email')!.id));
    expect(JSON.stringify(job.data)).not.toMatch(/ada@example.com|Hello/);
    // Tracing is off by default: the API adds no trace context either.
    expect(job.data).not.toHaveProperty('traceparent');
    const worker = await startWorker(t, ['email', 'sms', 'in_app']);
    services.push(worker);
    const done = await waitFor(async () => {
      const n = await getNotification(id);
      return n.status === 'pending' ? undefined : n;
    });
    expect(done.status).toBe('delivered');
    expect(done.deliveries.map((d) => [d.channel, d.status, d.provider])).toEqual([
      ['email', 'delivered', 'console'],
      ['sms', 'delivered', 'console'],
      ['in_app', 'delivered', 'inbox'],
    ]);
    const board = (await (await fetch(`${api.url}/admin/queues/api/queues`, { headers: { authorization: adminAuthorization } })).json()) as {
      queues: { name: string; counts: { completed: number } }[];
    };
    // The queue is on the board, its job done and gone: the deliveries table is the record.
    expect(board.queues.find((q) => q.name === 'notify.email')?.counts).toMatchObject({ completed: 0, waiting: 0, active: 0 });
    expect(await t.queues.email.getJob(job.id!)).toBeUndefined();
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('SIGTERM lets in-flight jobs finish before the worker exits', async () => {
    const worker = await startWorker(t, ['in_app'], { WORKER_CHANNELS: 'in_app', IN_APP_PROVIDERS: 'simulated', SIMULATED_LATENCY_MS: '1500' });
    services.push(worker);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send('POST', '/notifications', { user_id: 'u-term', message: `m${i}`, channels: ['in_app'] });
      ids.push(((await res.json()) as Notification).id);
    }
    // Wait until the worker holds the jobs, then stop it mid-send.
    await waitFor(async () => ((await t.queues.in_app.getActiveCount()) === 5 ? true : undefined), 5000, 'jobs to be active');
    const exitCode = await worker.stop('SIGTERM');
    expect(exitCode).toBe(0);
    for (const id of ids) expect((await getNotification(id)).status).toBe('delivered');
    expect(await t.queues.in_app.getActiveCount()).toBe(0);
    expect(worker.output()).toContain('finishing in-flight jobs');
  });

  it('the API exits cleanly on SIGTERM', async () => {
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});
