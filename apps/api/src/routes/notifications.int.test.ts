import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '@notify/core/schemas';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/123', { email: 'ada@example.com', phone: '+14155550100' });
});
afterAll(() => t?.close());

async function counts() {
  const [notifications, deliveries] = await Promise.all([t.db.prisma.notification.count(), t.db.prisma.delivery.count()]);
  const jobs = await Promise.all(Object.values(t.queues).map((q) => q.count()));
  return { notifications, deliveries, jobs: jobs.reduce((a, b) => a + b, 0) };
}

describe('POST /notifications', () => {
  it('answers 202 with the notification and its per-channel deliveries, and queues one job per channel', async () => {
    const res = await t.call('POST', '/notifications', { user_id: '123', message: 'Hello', channels: ['email', 'sms'], priority: 'high' });
    expect(res.status).toBe(202);
    const body = await json<Notification>(res);
    expect(body).toMatchObject({ user_id: '123', message: 'Hello', priority: 'high', status: 'pending' });
    expect(body.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ['email', 'queued'],
      ['sms', 'queued'],
    ]);
    for (const d of body.deliveries) expect(await t.queues[d.channel].getJob(d.id)).toBeDefined();
  });

  it('defaults the priority to normal', async () => {
    const res = await t.call('POST', '/notifications', { user_id: '123', message: 'Hi', channels: ['in_app'] });
    expect((await json<Notification>(res)).priority).toBe('normal');
  });

  const bad: [string, unknown, number, string][] = [
    ['an unknown channel', { user_id: '123', message: 'Hi', channels: ['fax'] }, 422, 'channels.0'],
    ['empty channels', { user_id: '123', message: 'Hi', channels: [] }, 422, 'channels'],
    ['a missing user_id', { message: 'Hi', channels: ['email'] }, 422, 'user_id'],
    ['a wrong priority', { user_id: '123', message: 'Hi', channels: ['email'], priority: 'urgent' }, 422, 'priority'],
    ['a message over the limit', { user_id: '123', message: 'x'.repeat(10_001), channels: ['email'] }, 422, 'message'],
    ['an empty message', { user_id: '123', message: '', channels: ['email'] }, 422, 'message'],
    ['a repeated channel', { user_id: '123', message: 'Hi', channels: ['sms', 'sms'] }, 422, 'channels'],
    ['an unknown field', { user_id: '123', message: 'Hi', channels: ['sms'], to: 'x' }, 422, ''],
    ['a JSON array', [1, 2], 422, ''],
  ];
  for (const [what, body, status, path] of bad) {
    it(`refuses ${what} with ${status} in the error shape and writes nothing`, async () => {
      const before = await counts();
      const res = await t.call('POST', '/notifications', body, { 'x-request-id': 'req-bad-1' });
      expect(res.status).toBe(status);
      const { error } = await json<ErrorJson>(res);
      expect(error).toMatchObject({ code: 'validation_failed', request_id: 'req-bad-1' });
      expect(error.details?.map((d) => d.path)).toContain(path);
      expect(await counts()).toEqual(before);
    });
  }

  it('refuses a body that is not JSON with 400 and writes nothing', async () => {
    const before = await counts();
    const res = await t.call('POST', '/notifications', '{"user_id": "123",');
    expect(res.status).toBe(400);
    expect((await json<ErrorJson>(res)).error).toMatchObject({ code: 'invalid_json' });
    expect(await counts()).toEqual(before);
  });

  it('refuses a body that is not declared as JSON with 415', async () => {
    const res = await t.call('POST', '/notifications', 'user_id=123', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await json<ErrorJson>(res)).error.code).toBe('unsupported_media_type');
  });
});

describe('GET /notifications/{id}', () => {
  it('shows the notification with its deliveries', async () => {
    const created = await json<Notification>(await t.call('POST', '/notifications', { user_id: '123', message: 'Hi', channels: ['email', 'push'] }));
    const res = await t.call('GET', `/notifications/${created.id}`);
    expect(res.status).toBe(200);
    const body = await json<Notification>(res);
    expect(body.id).toBe(created.id);
    expect(body.deliveries).toEqual([
      expect.objectContaining({ channel: 'email', status: 'queued', attempts: 0, last_error: null, provider: null }),
      expect.objectContaining({ channel: 'push', status: 'skipped', reason: 'no_contact' }),
    ]);
  });

  it('answers 404 in the error shape for an unknown id, and for something that is not an id', async () => {
    for (const [id, message] of [
      ['01a2090a-ffb7-76ef-a7a9-5f1f9dc95241', 'Notification not found'],
      ['abc', 'Nothing has this id: ids are UUIDs'],
    ] as const) {
      const res = await t.call('GET', `/notifications/${id}`);
      expect(res.status).toBe(404);
      expect((await json<ErrorJson>(res)).error).toMatchObject({ code: 'not_found', message });
    }
  });
});

describe('unknown routes', () => {
  it('answer 404 in the error shape', async () => {
    const res = await t.call('GET', '/nope');
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
  });
});
