import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, type Service } from './processes.js';

let t: TestEnv;
const services: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  await t?.close();
});

describe('a scheduled notification', () => {
  it('survives a restart of every process and goes out at send_at', async () => {
    const api = await startApi(t);
    const worker = await startWorker(t, ['in_app']);
    const sendAt = new Date(Date.now() + 8000);
    const res = await api.call('POST', '/notifications', { user_id: 'sched', message: 'Your trial ends tomorrow', channels: ['in_app'], send_at: sendAt.toISOString() });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Notification;

    // Every process goes away before send_at...
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
    // ...and new ones come up.
    const api2 = await startApi(t);
    services.push(api2, await startWorker(t, ['in_app']));
    const backUp = Date.now();
    const done = await waitFor(async () => {
      const n = (await (await api2.call('GET', `/notifications/${id}`)).json()) as Notification;
      return n.status === 'pending' ? undefined : n;
    }, 20_000);
    expect(done.status).toBe('delivered');
    const deliveredAt = new Date(done.deliveries[0]!.delivered_at!).getTime();
    expect(deliveredAt).toBeGreaterThanOrEqual(sendAt.getTime());
    // On time, or at once if the new processes came up after send_at (a loaded machine).
    expect(deliveredAt - Math.max(sendAt.getTime(), backUp)).toBeLessThan(3000);
  });
});
