import { queuePrefix } from '@notify/core/platform';
import { claimDelivery, finishDelivery } from '@notify/core/deliveries';
import type { DeliveryDetail, DeliveryPage, Notification, ReplayResult } from '@notify/core/schemas';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/d-1', { email: 'd@example.com', phone: '+14155550100' });
});
afterAll(() => t?.close());

/**
 * Fails each delivery's job in BullMQ, as a worker does on a permanent error:
 * the job stays under the delivery's id in the failed set, so a replay must
 * replace it (adding a job whose id exists would do nothing).
 */
async function failJobs(deliveries: Notification['deliveries']) {
  for (const d of deliveries) {
    const queue = t.queues[d.channel];
    const worker = new Worker(
      queue.name,
      async () => {
        throw new UnrecoverableError('no such mailbox');
      },
      { connection: t.workerRedis, prefix: queuePrefix(t.env.QUEUE_PREFIX, queue.name) },
    );
    try {
      for (const started = Date.now(); (await (await queue.getJob(d.id))?.getState()) !== 'failed'; ) {
        if (Date.now() - started > 5000) throw new Error(`job ${d.id} did not fail`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await worker.close();
    }
  }
}

/** A notification whose deliveries were tried once and failed for good, in PostgreSQL and in BullMQ. */
async function failed(channels: string[], code = 'invalid_address') {
  const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'd-1', message: 'x', channels }));
  await failJobs(n.deliveries);
  for (const d of n.deliveries) {
    const claimed = await claimDelivery(t.db.pool, d.id);
    await finishDelivery(t.db.pool, d.id, {
      status: 'failed',
      provider: 'smtp',
      errorCode: code,
      errorMessage: 'no such mailbox',
      attempt: { attempt: claimed!.attempts, provider: 'smtp', outcome: 'permanent_error', errorCode: code, errorMessage: 'no such mailbox', durationMs: 12 },
    });
  }
  return n;
}

describe('GET /deliveries', () => {
  it('lists failed deliveries, filtered by channel, newest first', async () => {
    const a = await failed(['email']);
    const b = await failed(['email', 'sms']);
    const page = await json<DeliveryPage>(await t.call('GET', '/deliveries?status=failed&channel=email'));
    expect(page.data.map((d) => d.id).slice(0, 2)).toEqual([b.deliveries[0]!.id, a.deliveries[0]!.id]);
    expect(page.data.every((d) => d.channel === 'email' && d.status === 'failed')).toBe(true);
    expect(page.data[0]).toMatchObject({ notification_id: b.id, user_id: 'd-1', last_error: { code: 'invalid_address', message: 'no such mailbox' } });
  });

  it('refuses an unknown status or channel (422) and a bad cursor (400)', async () => {
    expect((await t.call('GET', '/deliveries?status=lost')).status).toBe(422);
    expect((await t.call('GET', '/deliveries?channel=fax')).status).toBe(422);
    expect((await t.call('GET', '/deliveries?cursor=nope')).status).toBe(400);
  });
});

describe('GET /deliveries/{id}', () => {
  it('shows the attempt history', async () => {
    const n = await failed(['sms'], 'unsubscribed');
    const d = await json<DeliveryDetail>(await t.call('GET', `/deliveries/${n.deliveries[0]!.id}`));
    expect(d.history).toEqual([expect.objectContaining({ attempt: 1, provider: 'smtp', outcome: 'permanent_error', error_code: 'unsubscribed', duration_ms: 12 })]);
    expect(d.replays).toEqual([]);
  });

  it('answers 404 for an unknown id', async () => {
    expect((await t.call('GET', '/deliveries/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241')).status).toBe(404);
    expect((await t.call('GET', '/deliveries/abc')).status).toBe(404);
  });
});

describe('POST /deliveries/{id}/retry', () => {
  it('puts a failed delivery back in its queue with the same id, and records the replay', async () => {
    const n = await failed(['email']);
    const id = n.deliveries[0]!.id;
    const res = await t.call('POST', `/deliveries/${id}/retry`, undefined, { 'x-request-id': 'replay-1' });
    expect(res.status).toBe(200);
    const d = await json<DeliveryDetail>(res);
    expect(d).toMatchObject({ id, status: 'queued', failed_at: null });
    expect(d.replays).toEqual([expect.objectContaining({ previous_error_code: 'invalid_address', request_id: 'replay-1' })]);
    const job = await t.queues.email.getJob(id);
    expect(await job?.getState()).toBe('prioritized');
    expect(job?.attemptsMade).toBe(0);
    const notification = await json<Notification>(await t.call('GET', `/notifications/${n.id}`));
    expect(notification.status).toBe('pending');
  });

  it('answers 409 for a delivery that has not failed, and 404 for an unknown one', async () => {
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'd-1', message: 'x', channels: ['email'] }));
    const res = await t.call('POST', `/deliveries/${n.deliveries[0]!.id}/retry`);
    expect(res.status).toBe(409);
    expect((await json<ErrorJson>(res)).error.message).toMatch(/queued/);
    expect((await t.call('POST', '/deliveries/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241/retry')).status).toBe(404);
  });
});

describe('POST /deliveries/retry', () => {
  it('replays the failed deliveries matching a filter, up to its limit', async () => {
    await failed(['sms'], 'carrier_down');
    await failed(['sms'], 'carrier_down');
    await failed(['sms'], 'other');
    const res = await t.call('POST', '/deliveries/retry', { channel: 'sms', error_code: 'carrier_down', limit: 10 });
    expect(res.status).toBe(200);
    const result = await json<ReplayResult>(res);
    expect(result.replayed).toBe(2);
    // Each old failed job was replaced by a fresh one with the same id.
    for (const id of result.delivery_ids) {
      const job = await t.queues.sms.getJob(id);
      expect(await job?.getState()).toBe('prioritized');
      expect(job?.attemptsMade).toBe(0);
    }
    const left = await json<DeliveryPage>(await t.call('GET', '/deliveries?status=failed&channel=sms'));
    expect(left.data.map((d) => d.last_error?.code)).not.toContain('carrier_down');
  });

  it('refuses an unknown filter field or a limit over 1000', async () => {
    expect((await t.call('POST', '/deliveries/retry', { everything: true })).status).toBe(422);
    expect((await t.call('POST', '/deliveries/retry', { limit: 5000 })).status).toBe(422);
  });
});
