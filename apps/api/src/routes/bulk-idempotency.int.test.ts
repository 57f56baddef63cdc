import { randomUUID } from 'node:crypto';
import { createFanoutQueue } from '@notify/core/platform';
import type { Batch } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectKeyInFlight } from '../testing/key-in-flight.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const bulk = (prefix: string, size: number, message = 'Our terms change on 1 January') => ({
  message,
  channels: ['in_app'],
  recipients: Array.from({ length: size }, (_, i) => ({ user_id: `${prefix}-${i}` })),
});
const notificationsOf = (prefix: string) => t.db.prisma.notification.count({ where: { userId: { startsWith: `${prefix}-` } } });
const batchesOf = (prefix: string) =>
  t.db.pool.query<{ batch_id: string }>('SELECT DISTINCT batch_id FROM notifications WHERE user_id LIKE $1', [`${prefix}-%`]).then((r) => r.rows.map((x) => x.batch_id));

describe('Idempotency-Key on POST /notifications/bulk', () => {
  it('makes exactly one batch of 1,000 notifications from 20 concurrent retries of one call', async () => {
    const body = bulk('race', 1000);
    const before = await t.db.prisma.batch.count();
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.call('POST', '/notifications/bulk', body, { 'idempotency-key': 'bulk-race' })));

    for (const res of responses) {
      // 503: no pooled database connection within 5 s on a loaded machine; like 409, to be retried.
      expect([202, 409, 503]).toContain(res.status);
      if (res.status !== 202) expect(res.headers.get('retry-after')).toBe('1');
    }
    const accepted = responses.filter((r) => r.status === 202);
    const batches = await Promise.all(accepted.map((r) => json<Batch>(r)));
    expect(new Set(batches.map((b) => b.id)).size).toBe(1);
    // One request made it; every other 202 is a replay of its answer.
    expect(accepted.filter((r) => r.headers.get('idempotency-replay') === 'true').length).toBe(accepted.length - 1);
    for (const b of batches) expect(b).toEqual(batches[0]);

    expect(await t.db.prisma.batch.count()).toBe(before + 1);
    expect(await notificationsOf('race')).toBe(1000);
    expect(await batchesOf('race')).toEqual([batches[0]!.id]);
    expect(await t.queues.in_app.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBeGreaterThanOrEqual(1000);
  });

  it('answers a replay with the first body, the same batch id and Idempotency-Replay: true', async () => {
    const first = await t.call('POST', '/notifications/bulk', bulk('replay', 3), { 'idempotency-key': 'bulk-replay' });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    const original = await json<Batch>(first);
    expect(original).toMatchObject({ kind: 'bulk', status: 'created', notifications: 3, by_status: { pending: 3 }, deliveries: { queued: 3 } });

    // The same body with its keys in another order is the same request.
    const { message, channels, recipients } = bulk('replay', 3);
    const again = await t.call('POST', '/notifications/bulk', { recipients, channels, message }, { 'idempotency-key': 'bulk-replay' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(await json<Batch>(again)).toEqual(original);
    expect(await notificationsOf('replay')).toBe(3);
  });

  it('refuses the same key with a different body (422 idempotency_key_reused) and creates nothing', async () => {
    expect((await t.call('POST', '/notifications/bulk', bulk('reused', 2), { 'idempotency-key': 'bulk-reused' })).status).toBe(202);
    for (const other of [bulk('reused', 2, 'another message'), bulk('reused', 3)]) {
      const res = await t.call('POST', '/notifications/bulk', other, { 'idempotency-key': 'bulk-reused' });
      expect(res.status).toBe(422);
      expect((await json<ErrorJson>(res)).error.code).toBe('idempotency_key_reused');
    }
    expect(await notificationsOf('reused')).toBe(2);
  });

  it('refuses a key first used by a single send with a bulk body (422): one key space for both', async () => {
    await t.call('POST', '/notifications', { user_id: 'mixed-0', message: 'x', channels: ['in_app'] }, { 'idempotency-key': 'mixed' });
    const res = await t.call('POST', '/notifications/bulk', bulk('mixed', 2), { 'idempotency-key': 'mixed' });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.code).toBe('idempotency_key_reused');
    expect(await notificationsOf('mixed')).toBe(1);
  });

  it('answers 409 with Retry-After while the first call with the key is still in flight', async () => {
    // The first call, in flight: its claim on the key is written but not committed. It commits only once its window
    // has closed, so the waiting call finds the key neither claimable nor answerable (as for a single send).
    const first = await t.db.pool.connect();
    try {
      await first.query('BEGIN');
      await first.query(
        `INSERT INTO idempotency_keys (app_id, key, request_hash, batch_id, response, expires_at)
         VALUES ($1, 'bulk-flight', 'h', $2, '{}', now() + interval '1 second')`,
        [t.appId, randomUUID()],
      );
      const pending = t.call('POST', '/notifications/bulk', bulk('flight', 5), { 'idempotency-key': 'bulk-flight' });
      await expectKeyInFlight(t, first, pending);
    } finally {
      first.release();
    }
    expect(await notificationsOf('flight')).toBe(0);
  });

  it('forgets a key after its window: the same call then makes a new batch', async () => {
    const a = await json<Batch>(await t.call('POST', '/notifications/bulk', bulk('old', 2), { 'idempotency-key': 'bulk-old' }));
    await t.db.prisma.idempotencyKey.updateMany({ where: { key: 'bulk-old' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const again = await t.call('POST', '/notifications/bulk', bulk('old', 2), { 'idempotency-key': 'bulk-old' });
    expect(again.headers.get('idempotency-replay')).toBeNull();
    expect((await json<Batch>(again)).id).not.toBe(a.id);
    expect(await notificationsOf('old')).toBe(4);
  });

  it('without a key, each call is a new batch', async () => {
    const [a, b] = await Promise.all([1, 2].map(async () => json<Batch>(await t.call('POST', '/notifications/bulk', bulk('nokey', 2)))));
    expect(a!.id).not.toBe(b!.id);
    expect(await notificationsOf('nokey')).toBe(4);
  });
});

describe('Idempotency-Key on a topic send (POST /notifications with topic)', () => {
  const send = { topic: 'launch', message: 'We launched', channels: ['in_app'] };
  const topicBatches = () => t.db.prisma.batch.findMany({ where: { topicKey: 'launch' } });

  it('replays a keyed topic send: one batch, the same id, one fan-out', async () => {
    expect((await t.call('POST', '/topics/launch/subscribers', { user_ids: ['tp-1', 'tp-2', 'tp-3'] })).status).toBe(200);
    const first = await t.call('POST', '/notifications', send, { 'idempotency-key': 'topic-1' });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    const batch = await json<Batch>(first);
    expect(batch).toMatchObject({ kind: 'topic', topic: 'launch', status: 'creating', notifications: 0 });

    const retries = await Promise.all(Array.from({ length: 5 }, () => t.call('POST', '/notifications', send, { 'idempotency-key': 'topic-1' })));
    for (const res of retries) {
      expect(res.status).toBe(202);
      expect(res.headers.get('idempotency-replay')).toBe('true');
      expect(await json<Batch>(res)).toEqual(batch);
    }
    // The key in the body is the same key.
    const inBody = await t.call('POST', '/notifications', { ...send, idempotency_key: 'topic-1' });
    expect(inBody.headers.get('idempotency-replay')).toBe('true');
    expect((await json<Batch>(inBody)).id).toBe(batch.id);

    expect((await topicBatches()).map((b) => b.id)).toEqual([batch.id]);
    const fanout = createFanoutQueue(t.redis, t.env.QUEUE_PREFIX);
    try {
      expect(await fanout.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed')).toMatchObject({ waiting: 1 });
      expect(await fanout.getJob(batch.id)).toBeDefined();
    } finally {
      await fanout.close();
    }
  });

  it('refuses the key with another topic body (422), and a key in the body that differs from the header (422)', async () => {
    const res = await t.call('POST', '/notifications', { ...send, message: 'We launched again' }, { 'idempotency-key': 'topic-1' });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.code).toBe('idempotency_key_reused');
    const differ = await t.call('POST', '/notifications', { ...send, idempotency_key: 'b' }, { 'idempotency-key': 'a' });
    expect(differ.status).toBe(422);
    expect(await topicBatches()).toHaveLength(1);
  });
});
