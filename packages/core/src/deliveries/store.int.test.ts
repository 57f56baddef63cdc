import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDeliveries, claimDelivery, finishDeliveries, finishDelivery, markRetrying } from './store.js';
import { withWriter, type NotificationWriter } from '../notifications/writer.js';
import type { NotificationDeps } from '../notifications/accept.js';
import { createNotification, toOneUser } from '../notifications/notifications.js';
import { PRIORITY } from '../platform/queues.js';
import { CreateNotificationBody } from '../schemas/notifications.js';
import { createTestEnv, type TestEnv } from '../testing/index.js';
import { newId } from '../platform/ids.js';

let t: TestEnv;
let deps: NotificationDeps & { writer: NotificationWriter };

beforeAll(async () => {
  t = await createTestEnv();
  deps = withWriter({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 2000 }, log: t.log });
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'u1', email: 'a@example.com', phone: '+14155550100' } });
});
afterAll(() => t?.close());

const notify = async (input: Record<string, unknown>) =>
  (await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'u1', message: 'Hello', ...input })))).notification;

describe('createNotification', () => {
  it('stores the notification with one delivery per channel and queues one job each, with its priority', async () => {
    const n = await notify({ channels: ['email', 'sms', 'in_app'], priority: 'high' });
    const rows = await t.db.prisma.delivery.findMany({ where: { notificationId: n.id } });
    expect(rows).toHaveLength(3);
    for (const d of n.deliveries) {
      const job = await t.queues[d.channel].getJob(d.id);
      expect(job?.data).toEqual({ delivery_id: d.id, notification_id: n.id, channel: d.channel });
      expect(job?.opts.priority).toBe(PRIORITY.high);
      expect(job?.opts.attempts).toBe(4);
      expect(job?.opts.backoff).toEqual({ type: 'exponential_or_retry_after', delay: 2000 });
      expect(job?.opts.delay ?? 0).toBe(0);
    }
  });

  it('records an opted-out channel as skipped and queues no job for it', async () => {
    await t.db.prisma.preference.create({ data: { appId: t.appId, userId: 'u1', channel: 'sms', enabled: false } });
    const n = await notify({ channels: ['email', 'sms'] });
    const sms = n.deliveries.find((d) => d.channel === 'sms');
    expect(sms).toMatchObject({ status: 'skipped', reason: 'opted_out' });
    expect(await t.queues.sms.getJob(sms!.id)).toBeUndefined();
    const row = await t.db.prisma.delivery.findUniqueOrThrow({ where: { id: sms!.id } });
    expect(row.status).toBe('skipped');
    await t.db.prisma.preference.deleteMany({ where: { userId: 'u1' } });
  });

  it('marks a notification with nothing deliverable as skipped at once', async () => {
    const { notification: n } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'nobody', message: 'x', channels: ['email'] })));
    const row = await t.db.prisma.notification.findUniqueOrThrow({ where: { id: n.id } });
    expect(row).toMatchObject({ status: 'skipped', pendingCount: 0, skippedCount: 1 });
  });
});

describe('delivery transitions', () => {
  it('keeps the notification status right when every channel finishes at the same moment', async () => {
    for (let round = 0; round < 20; round++) {
      const n = await notify({ channels: ['email', 'sms', 'in_app'] });
      await Promise.all(n.deliveries.map((d) => finishDelivery(t.db.pool, d.id, { status: 'delivered', provider: 'p', providerMessageId: 'm' })));
      const row = await t.db.prisma.notification.findUniqueOrThrow({ where: { id: n.id } });
      expect(row).toMatchObject({ status: 'delivered', pendingCount: 0, deliveredCount: 3 });
    }
  });

  it('summarises mixed outcomes as partial', async () => {
    const n = await notify({ channels: ['email', 'sms'] });
    const [a, b] = n.deliveries;
    expect((await finishDelivery(t.db.pool, a!.id, { status: 'delivered' }))?.status).toBe('pending');
    expect((await finishDelivery(t.db.pool, b!.id, { status: 'failed', errorCode: 'x', errorMessage: 'y' }))?.status).toBe('partial');
  });

  it('counts an outcome once: a finished delivery does not move again', async () => {
    const n = await notify({ channels: ['email'] });
    const id = n.deliveries[0]!.id;
    expect((await finishDelivery(t.db.pool, id, { status: 'delivered' }))?.status).toBe('delivered');
    expect(await finishDelivery(t.db.pool, id, { status: 'failed' })).toBeNull();
    const row = await t.db.prisma.notification.findUniqueOrThrow({ where: { id: n.id } });
    expect(row).toMatchObject({ deliveredCount: 1, failedCount: 0, pendingCount: 0 });
  });

  it('claims an unfinished delivery with its content, counts the attempt, and refuses a finished one', async () => {
    const n = await notify({ channels: ['email'], subject: 'Hi' });
    const id = n.deliveries[0]!.id;
    const first = await claimDelivery(t.db.pool, id);
    expect(first).toMatchObject({ attempts: 1, previousStatus: 'queued', email: 'a@example.com', subject: 'Hi', message: 'Hello' });
    await markRetrying(t.db.pool, id, {
      provider: 'p',
      errorCode: 'e',
      errorMessage: 'm',
      attempt: { attempt: 2, provider: 'p', outcome: 'retryable_error', errorCode: 'e', errorMessage: 'm', durationMs: 5 },
    });
    expect((await claimDelivery(t.db.pool, id))?.previousStatus).toBe('retrying');
    // A worker died while sending: the next claim says so.
    expect((await claimDelivery(t.db.pool, id))?.previousStatus).toBe('sending');
    await finishDelivery(t.db.pool, id, { status: 'delivered' });
    expect(await claimDelivery(t.db.pool, id)).toBeNull();
  });

  it('claims and finishes many deliveries in one statement each, counting every one on its notification', async () => {
    const n = await notify({ channels: ['email', 'sms', 'in_app'] });
    const [a, b, c] = n.deliveries.map((d) => d.id) as [string, string, string];
    await finishDelivery(t.db.pool, c, { status: 'skipped', reason: 'no_contact' });
    const claimed = await claimDeliveries(t.db.pool, [a, b, c]);
    expect([...claimed.keys()].sort()).toEqual([a, b].sort());
    const attempt = { attempt: 1, provider: 'p', outcome: 'delivered' as const, durationMs: 3 };
    const finished = await finishDeliveries(t.db.pool, [
      { id: a, status: 'delivered', provider: 'p', providerMessageId: 'm1', attempt },
      { id: b, status: 'failed', provider: 'p', errorCode: 'bounced', errorMessage: 'no', attempt: { ...attempt, outcome: 'permanent_error', errorCode: 'bounced' } },
      { id: c, status: 'delivered' },
    ]);
    expect(finished.notificationStatus).toEqual(
      new Map([
        [a, 'partial'],
        [b, 'partial'],
      ]),
    );
    const row = await t.db.prisma.notification.findUniqueOrThrow({ where: { id: n.id } });
    expect(row).toMatchObject({ status: 'partial', pendingCount: 0, deliveredCount: 1, failedCount: 1, skippedCount: 1 });
    const attempts = await t.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: { in: [a, b, c] } } });
    expect(attempts.map((x) => [x.deliveryId, x.outcome, x.errorCode]).sort()).toEqual(
      [
        [a, 'delivered', null],
        [b, 'permanent_error', 'bounced'],
      ].sort(),
    );
  });
});

describe('query plans', () => {
  it('sends the claim and finish as calls of functions made on first use, whose plans each session keeps', async () => {
    const client = await t.db.pool.connect();
    try {
      const { notification } = await createNotification(deps, t.appId, toOneUser(CreateNotificationBody.parse({ user_id: 'u1', message: 'plans', channels: ['in_app'] })));
      const id = notification.deliveries[0]!.id;
      const onClient = client as unknown as pg.Pool;
      for (let i = 0; i < 6; i++) await claimDeliveries(onClient, [id]);
      await finishDeliveries(onClient, [{ id, status: 'delivered', provider: 'inbox', providerMessageId: 'm' }]);
      expect(await t.db.prisma.delivery.findUnique({ where: { id } })).toMatchObject({ status: 'delivered', attempts: 6 });
      const { rows } = await client.query<{ proname: string; proconfig: string[] }>(
        `SELECT proname, proconfig FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname ~ '^(claim|finish)_deliveries_' ORDER BY 1`,
      );
      expect(rows.map((r) => r.proname.replace(/_[0-9a-f]{12}$/, ''))).toEqual(['claim_deliveries', 'finish_deliveries']);
      for (const r of rows) expect(r.proconfig).toEqual(['plan_cache_mode=force_generic_plan', 'enable_seqscan=off']);
      expect((await client.query('SELECT 1 FROM pg_prepared_statements')).rows).toEqual([]);
    } finally {
      client.release();
    }
  });

  it('a claim planned while deliveries was empty reads it by its primary key once 20,000 are queued, before any ANALYZE', async () => {
    const fresh = await createTestEnv();
    const client = await fresh.db.pool.connect();
    try {
      const onClient = client as unknown as pg.Pool;
      // Planned on this session with the table empty and never analyzed.
      expect((await claimDeliveries(onClient, [newId()])).size).toBe(0);
      await client.query(`INSERT INTO users (app_id, id, updated_at) VALUES ($1, 'u1', now())`, [fresh.appId]);
      await client.query(
        `INSERT INTO notifications (id, app_id, user_id, message, priority, pending_count)
        SELECT gen_random_uuid(), $1, 'u1', 'backlog', 'low', 1 FROM generate_series(1, 20000)`,
        [fresh.appId],
      );
      const { rows } = await client.query<{ id: string }>(`INSERT INTO deliveries (id, app_id, notification_id, channel, status)
        SELECT gen_random_uuid(), app_id, id, 'in_app', 'queued' FROM notifications RETURNING id`);

      await client.query('BEGIN');
      expect((await claimDeliveries(onClient, [rows[0]!.id])).size).toBe(1);
      const scans = await client.query<{ seq_tup_read: string; idx_scan: string }>(
        `SELECT seq_tup_read, idx_scan FROM pg_stat_xact_user_tables WHERE schemaname = current_schema() AND relname = 'deliveries'`,
      );
      await client.query('ROLLBACK');
      // Rows read by a scan of the whole table (a bitmap scan counts in seq_scan, but reads none here).
      expect(Number(scans.rows[0]!.seq_tup_read)).toBe(0);
      expect(Number(scans.rows[0]!.idx_scan)).toBeGreaterThan(0);
    } finally {
      client.release();
      await fresh.close();
    }
  });
});
