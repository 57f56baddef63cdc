import { Worker, UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDelivery } from '../deliveries/store.js';
import { insertNotifications } from '../notifications/store.js';
import { loadRecipients } from '../notifications/recipients.js';
import { planNotification } from '../notifications/plan.js';
import { resolveSpec } from '../notifications/spec.js';
import { deleteExpiredIdempotencyKeys, sweepOutbox } from './outbox.js';
import { QUEUE, queuePrefix } from '../platform/queues.js';
import { CreateNotificationBody } from '../schemas/notifications.js';
import type { Pool } from 'pg';
import { ADVISORY_LOCK_KEYS } from '../platform/db.js';
import { createTestEnv, replicasBehindPgBouncer, type TestEnv } from '../testing/index.js';

let t: TestEnv;
const retry = { attempts: 4, baseDelayMs: 1000 };
const sweep = (pool: Pool = t.db.pool) => sweepOutbox({ pool, redis: t.workerRedis, queues: t.queues, retry, log: t.log }, { graceMs: 0 });

/** Runs `fn` while another replica is mid-sweep: it holds the sweep's advisory lock (SWEEP_LOCK in outbox.ts) in an open transaction on `pool`. */
async function whileAnotherSweeps(pool: Pool, fn: () => Promise<void>) {
  const other = await pool.connect();
  try {
    await other.query('BEGIN');
    await other.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEYS})`, [0x6e6f7466]);
    await fn();
    await other.query('COMMIT');
  } finally {
    other.release();
  }
}

beforeAll(async () => {
  t = await createTestEnv();
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'u1', phone: '+14155550100' } });
});
afterAll(() => t?.close());

/** A notification committed to PostgreSQL whose jobs were never added: a crash between commit and enqueue. */
async function committedButNotEnqueued(channels: string[] = ['in_app']) {
  const recipients = await loadRecipients(t.db.pool, t.appId, ['u1']);
  const spec = await resolveSpec(t.db, t.appId, CreateNotificationBody.parse({ user_id: 'u1', message: 'x', channels }));
  const planned = planNotification(spec, 'u1', recipients.get('u1'), undefined, new Date());
  await insertNotifications(t.db.pool, [planned]);
  return planned;
}

describe('sweepOutbox', () => {
  it('adds the missing job of a committed delivery, once', async () => {
    const n = await committedButNotEnqueued();
    const id = n.deliveries[0]!.id;
    expect(await t.queues.in_app.getJob(id)).toBeUndefined();
    const first = await sweep();
    expect(first?.readded).toBeGreaterThanOrEqual(1);
    const job = await t.queues.in_app.getJob(id);
    expect(job?.data).toEqual({ delivery_id: id, notification_id: n.id, channel: 'in_app' });
    expect(job?.opts.priority).toBe(3);
    const second = await sweep();
    expect(second?.readded).toBe(0);
  });

  it('leaves deliveries younger than the grace period alone', async () => {
    const n = await committedButNotEnqueued();
    const result = await sweepOutbox({ pool: t.db.pool, redis: t.workerRedis, queues: t.queues, retry, log: t.log }, { graceMs: 60_000 });
    expect(result?.readded).toBe(0);
    expect(await t.queues.in_app.getJob(n.deliveries[0]!.id)).toBeUndefined();
  });

  it('lets one sweeper run at a time', async () => {
    const n = await committedButNotEnqueued();
    const id = n.deliveries[0]!.id;
    await whileAnotherSweeps(t.db.pool, async () => {
      expect(await sweep()).toBeNull();
      expect(await t.queues.in_app.getJob(id)).toBeUndefined();
    });
    // The lock is free again: the next sweep runs and repairs what the skipped one left.
    expect((await sweep())?.readded).toBeGreaterThanOrEqual(1);
    expect(await t.queues.in_app.getJob(id)).toBeDefined();
  });

  it('behind PgBouncer in transaction mode: one sweeper at a time, and one replica sweeps again and again', async () => {
    // Two server connections for both replicas: the lock holder keeps one in its transaction, the rest share the other.
    const behind = await replicasBehindPgBouncer(t, { replicas: 2, serverConnections: 2 });
    try {
      const [one, two] = behind.dbs.map((db) => db.pool) as [Pool, Pool];
      const n = await committedButNotEnqueued();
      const id = n.deliveries[0]!.id;
      await whileAnotherSweeps(one, async () => {
        expect(await sweep(two)).toBeNull();
        expect(await t.queues.in_app.getJob(id)).toBeUndefined();
      });
      expect((await sweep(two))?.readded).toBeGreaterThanOrEqual(1);
      expect(await t.queues.in_app.getJob(id)).toBeDefined();
      // Each sweep's statements are parsed afresh: nothing prepared lives on a server connection between transactions.
      expect(await sweep(two)).toMatchObject({ readded: 0 });
      expect(await sweep(one)).toMatchObject({ readded: 0 });
    } finally {
      await behind.close();
    }
  });

  it('ends a delivery whose job BullMQ failed outside the processor, and replaces a finished job of a queued one', async () => {
    const a = await committedButNotEnqueued(['sms']);
    const b = await committedButNotEnqueued(['sms']);
    await sweep();
    // Fail both jobs for good, as BullMQ does to a job that stalled too often.
    const worker = new Worker(
      QUEUE.sms,
      async () => {
        throw new UnrecoverableError('job stalled more than allowable limit');
      },
      { connection: t.workerRedis, prefix: queuePrefix(t.env.QUEUE_PREFIX, QUEUE.sms) },
    );
    await new Promise<void>((resolve) => {
      let failed = 0;
      worker.on('failed', () => ++failed === 2 && resolve());
    });
    await worker.close();
    // a: a worker had claimed it (status sending) when its job failed. b: still queued (e.g. a replay that crashed before re-adding).
    await claimDelivery(t.db.pool, a.deliveries[0]!.id);
    const result = await sweep();
    expect(result?.failed).toBe(1);
    const rowA = await t.db.prisma.delivery.findUniqueOrThrow({ where: { id: a.deliveries[0]!.id } });
    expect(rowA).toMatchObject({ status: 'failed', lastErrorCode: 'job_failed', lastErrorMessage: 'job stalled more than allowable limit' });
    const jobB = await t.queues.sms.getJob(b.deliveries[0]!.id);
    expect(await jobB?.getState()).toBe('prioritized');
  });
});

describe('deleteExpiredIdempotencyKeys', () => {
  it('deletes keys past their window and keeps the others', async () => {
    const n = await committedButNotEnqueued();
    await t.db.prisma.idempotencyKey.createMany({
      data: [
        { appId: t.appId, key: 'old', requestHash: 'h', notificationId: n.id, response: {}, expiresAt: new Date(Date.now() - 1000) },
        { appId: t.appId, key: 'new', requestHash: 'h', notificationId: n.id, response: {}, expiresAt: new Date(Date.now() + 60_000) },
      ],
    });
    expect(await deleteExpiredIdempotencyKeys(t.db.pool)).toBe(1);
    expect((await t.db.prisma.idempotencyKey.findMany()).map((k) => k.key)).toEqual(['new']);
  });
});
