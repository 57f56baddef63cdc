import { finishDelivery } from '@notify/core/deliveries';
import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/c-1', { email: 'c@example.com', phone: '+14155550100' });
});
afterAll(() => t?.close());

const create = async (channels: string[]) => json<Notification>(await t.call('POST', '/notifications', { user_id: 'c-1', message: 'Sale!', channels }));

describe('POST /notifications/{id}/cancel', () => {
  it('cancels deliveries not sent yet and removes their jobs', async () => {
    const n = await create(['email', 'sms']);
    const res = await t.call('POST', `/notifications/${n.id}/cancel`);
    expect(res.status).toBe(200);
    const body = await json<Notification>(res);
    expect(body.status).toBe('cancelled');
    expect(body.deliveries.map((d) => [d.status, d.reason])).toEqual([
      ['cancelled', 'cancelled'],
      ['cancelled', 'cancelled'],
    ]);
    for (const d of n.deliveries) expect(await t.queues[d.channel].getJob(d.id)).toBeUndefined();
  });

  it('leaves delivered ones alone and cancels the rest', async () => {
    const n = await create(['email', 'sms']);
    await finishDelivery(t.db.pool, n.deliveries[0]!.id, { status: 'delivered' });
    const body = await json<Notification>(await t.call('POST', `/notifications/${n.id}/cancel`));
    expect(body.deliveries.map((d) => d.status)).toEqual(['delivered', 'cancelled']);
    expect(body.status).toBe('delivered');
  });

  it('answers 409 when everything was already sent or finished', async () => {
    const n = await create(['email']);
    await finishDelivery(t.db.pool, n.deliveries[0]!.id, { status: 'delivered' });
    const res = await t.call('POST', `/notifications/${n.id}/cancel`);
    expect(res.status).toBe(409);
    const { error } = await json<ErrorJson>(res);
    expect(error.code).toBe('conflict');
    expect(error.details).toEqual([{ path: 'deliveries.email', message: 'delivered' }]);
  });

  it('answers 409 for a second cancel and 404 for an unknown notification', async () => {
    const n = await create(['email']);
    expect((await t.call('POST', `/notifications/${n.id}/cancel`)).status).toBe(200);
    expect((await t.call('POST', `/notifications/${n.id}/cancel`)).status).toBe(409);
    expect((await t.call('POST', '/notifications/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241/cancel')).status).toBe(404);
  });
});
