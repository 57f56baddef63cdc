import { v7 } from 'uuid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADVISORY_LOCK_KEYS, type Db } from '../platform/db.js';
import { createTestEnv, replicasBehindPgBouncer, type TestEnv } from '../testing/index.js';
import { countingPool } from '../testing/counting-pool.js';
import { RETENTION_LOCK, runRetention, uuidv7Floor, type RetentionRunOptions } from './retention.js';

let t: TestEnv;
const DAY = 86_400_000;
const MINUTE = 60_000;
const now = new Date();
const ago = (ms: number) => new Date(now.getTime() - ms);
const options = (o: Partial<RetentionRunOptions> = {}): RetentionRunOptions => ({
  days: { notifications: 30, statusEvents: 7, auditEvents: 365 },
  budgetMs: 60_000,
  batchSize: 1000,
  pauseMs: 0,
  dutyPercent: 100,
  now,
  ...o,
});
const run = (o: Partial<RetentionRunOptions> = {}) => runRetention({ pool: t.db.pool, log: t.log }, options(o));

type Status = 'queued' | 'sending' | 'retrying' | 'delivered' | 'failed' | 'skipped' | 'cancelled';

/**
 * A notification made at `createdAt` (its UUIDv7 id of that moment, as the
 * API makes them) with an in-app delivery, an attempt, a replay and an inbox
 * item under it, and a status event about it.
 */
async function seed(createdAt: Date, o: { status?: Status; sendAt?: Date; scheduledFor?: Date; eventStatus?: string } = {}) {
  const id = v7({ msecs: createdAt.getTime() });
  const deliveryId = v7({ msecs: createdAt.getTime() });
  const status = o.status ?? 'delivered';
  const pending = ['queued', 'sending', 'retrying'].includes(status) ? 1 : 0;
  const q = (text: string, values: unknown[]) => t.db.pool.query(text, values);
  await q(
    `INSERT INTO notifications (id, app_id, user_id, priority, status, pending_count, delivered_count, send_at, created_at, updated_at)
     VALUES ($1, $2, 'u1', 'normal', $3, $4, $5, $6, $7, $7)`,
    [id, t.appId, pending ? 'pending' : 'delivered', pending, 1 - pending, o.sendAt ?? null, createdAt],
  );
  await q(`INSERT INTO deliveries (id, app_id, notification_id, channel, status, scheduled_for, created_at, updated_at) VALUES ($1, $2, $3, 'in_app', $4, $5, $6, $6)`, [
    deliveryId,
    t.appId,
    id,
    status,
    o.scheduledFor ?? null,
    createdAt,
  ]);
  await q(`INSERT INTO delivery_attempts (delivery_id, attempt, provider, outcome, duration_ms, created_at) VALUES ($1, 1, 'inbox', 'delivered', 3, $2)`, [deliveryId, createdAt]);
  await q(`INSERT INTO delivery_replays (id, delivery_id, created_at) VALUES (gen_random_uuid(), $1, $2)`, [deliveryId, createdAt]);
  await q(`INSERT INTO inbox_items (id, app_id, user_id, notification_id, delivery_id, body, created_at) VALUES ($1, $2, 'u1', $3, $4, 'hi', $5)`, [
    v7({ msecs: createdAt.getTime() }),
    t.appId,
    id,
    deliveryId,
    createdAt,
  ]);
  const eventId = await statusEvent(createdAt, o.eventStatus ?? 'delivered', id);
  return { id, deliveryId, eventId };
}

async function statusEvent(at: Date, status: string, notificationId: string = v7()) {
  const { rows } = await t.db.pool.query<{ id: string }>(
    `INSERT INTO status_events (id, app_id, endpoint_id, user_id, type, payload, status, created_at, updated_at)
     VALUES (gen_random_uuid(), $1, gen_random_uuid(), 'u1', 'notification.completed', $2, $3, $4, $4) RETURNING id`,
    [t.appId, JSON.stringify({ data: { notification_id: notificationId } }), status, at],
  );
  return rows[0]!.id;
}

/** Rows under notification `id`, per table. */
async function rowsOf(id: string) {
  const { rows } = await t.db.pool.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM notifications WHERE id = $1)::int AS notifications,
       (SELECT count(*) FROM deliveries WHERE notification_id = $1)::int AS deliveries,
       (SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.notification_id = $1)::int AS attempts,
       (SELECT count(*) FROM delivery_replays r JOIN deliveries d ON d.id = r.delivery_id WHERE d.notification_id = $1)::int AS replays,
       (SELECT count(*) FROM inbox_items WHERE notification_id = $1)::int AS inbox`,
    [id],
  );
  return rows[0];
}

/** Rows whose parent is gone: must always be none. */
async function orphans() {
  const { rows } = await t.db.pool.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = d.notification_id))::int AS deliveries,
       (SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id))::int AS attempts,
       (SELECT count(*) FROM delivery_replays r WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.delivery_id))::int AS replays,
       (SELECT count(*) FROM inbox_items i WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = i.delivery_id)
          OR NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = i.notification_id))::int AS inbox`,
  );
  return rows[0];
}

const ALL = { notifications: 1, deliveries: 1, attempts: 1, replays: 1, inbox: 1 };
const NONE = { notifications: 0, deliveries: 0, attempts: 0, replays: 0, inbox: 0 };

beforeAll(async () => {
  t = await createTestEnv();
});
beforeEach(async () => {
  await t.db.pool.query('TRUNCATE notifications, deliveries, delivery_attempts, delivery_replays, inbox_items, status_events');
});
afterAll(() => t?.close());

describe('runRetention', () => {
  it('removes exactly the notifications older than their limit, with everything under them', async () => {
    const old = await seed(ago(30 * DAY + MINUTE));
    const older = await seed(ago(400 * DAY));
    const inside = await seed(ago(30 * DAY - MINUTE));
    const fresh = await seed(now);
    const result = await run();
    expect(result).toMatchObject({ notifications: 2, inboxItems: 2, more: false });
    expect(await rowsOf(old.id)).toEqual(NONE);
    expect(await rowsOf(older.id)).toEqual(NONE);
    expect(await rowsOf(inside.id)).toEqual(ALL);
    expect(await rowsOf(fresh.id)).toEqual(ALL);
    expect(await orphans()).toEqual({ deliveries: 0, attempts: 0, replays: 0, inbox: 0 });
    // A second run finds nothing more.
    expect(await run()).toMatchObject({ notifications: 0, inboxItems: 0, statusEvents: 0 });
  });

  it('keeps an old notification with a delivery unfinished or due later, or scheduled for later', async () => {
    const old = ago(60 * DAY);
    const kept = [
      await seed(old, { status: 'queued' }),
      await seed(old, { status: 'sending' }),
      await seed(old, { status: 'retrying' }),
      // Sent out of quiet hours tomorrow, and scheduled (send_at) for tomorrow.
      await seed(old, { status: 'queued', scheduledFor: new Date(Date.now() + DAY) }),
      await seed(old, { status: 'cancelled', sendAt: new Date(Date.now() + DAY) }),
      await seed(old, { status: 'skipped', scheduledFor: new Date(Date.now() + DAY) }),
    ];
    const finished = await seed(old, { status: 'failed' });
    expect(await run()).toMatchObject({ notifications: 1 });
    for (const k of kept) expect(await rowsOf(k.id)).toEqual(ALL);
    expect(await rowsOf(finished.id)).toEqual(NONE);
  });

  it('deletes in batches of the given size, one statement each', async () => {
    for (let i = 0; i < 25; i++) await seed(ago(31 * DAY + i * MINUTE));
    const counting = countingPool(t.db.pool);
    const result = await runRetention({ pool: counting.pool, log: t.log }, options({ batchSize: 10, days: { notifications: 30, statusEvents: 0, auditEvents: 0 } }));
    expect(result).toMatchObject({ notifications: 25, batches: 3 });
    expect(counting.count('retention_notifications')).toBe(3);
    expect(counting.count('retention_status_events') + counting.count('retention_audit_events')).toBe(0);
    const { rows } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications');
    expect(rows[0]!.n).toBe(0);
  });

  it('rests between statements long enough to keep them to dutyPercent of the run (a slow statement, a longer rest)', async () => {
    for (let i = 0; i < 4; i++) await seed(ago(31 * DAY + i * MINUTE));
    // Every statement made 100 ms slower, as on a loaded database.
    const slow = new Proxy(t.db.pool, {
      get: (pool, prop) =>
        prop === 'query'
          ? async (...args: Parameters<typeof pool.query>) => {
              await new Promise((resolve) => setTimeout(resolve, 100));
              return (pool.query as (...a: unknown[]) => unknown)(...args);
            }
          : Reflect.get(pool, prop, pool),
    });
    const started = performance.now();
    const result = await runRetention({ pool: slow, log: t.log }, options({ batchSize: 1, dutyPercent: 25 }));
    const elapsed = performance.now() - started;
    expect(result?.notifications).toBe(4);
    // Each statement took 100 ms or more, and each but the last was followed by 3x its time at rest.
    const statements = result?.batches ?? 0;
    expect(statements).toBeGreaterThanOrEqual(5);
    expect(elapsed).toBeGreaterThanOrEqual(statements * 100 + (statements - 1) * 300);
  });

  it('stops at its budget and says more is left; the next run goes on', async () => {
    for (let i = 0; i < 6; i++) await seed(ago(31 * DAY + i * MINUTE));
    const first = await run({ batchSize: 2, pauseMs: 30, budgetMs: 40 });
    expect(first?.more).toBe(true);
    expect(first?.notifications).toBeLessThan(6);
    const second = await run({ batchSize: 2 });
    expect((first?.notifications ?? 0) + (second?.notifications ?? 0)).toBe(6);
    expect(second?.more).toBe(false);
  });

  it('keeps everything of a kind whose limit is 0 days', async () => {
    const old = await seed(ago(1000 * DAY));
    expect(await run({ days: { notifications: 0, statusEvents: 0, auditEvents: 0 } })).toMatchObject({ notifications: 0, statusEvents: 0, batches: 0 });
    expect(await rowsOf(old.id)).toEqual(ALL);
  });

  it('removes finished status events older than their own limit, counted from their last change, and keeps pending ones', async () => {
    const delivered = await statusEvent(ago(7 * DAY + MINUTE), 'delivered');
    const failed = await statusEvent(ago(8 * DAY), 'failed');
    const pending = await statusEvent(ago(60 * DAY), 'pending');
    const inside = await statusEvent(ago(7 * DAY - MINUTE), 'failed');
    expect(await run()).toMatchObject({ statusEvents: 2, notifications: 0 });
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM status_events');
    expect(rows.map((r) => r.id).sort()).toEqual([pending, inside].sort());
    expect(rows.map((r) => r.id)).not.toContain(delivered);
    expect(rows.map((r) => r.id)).not.toContain(failed);
  });

  it('removes audit events older than their own limit', async () => {
    // The audit log's table comes with its own migration (20261201100600_audit_events); the same columns if it is not there.
    await t.db.pool.query(`CREATE TABLE IF NOT EXISTS audit_events (id uuid PRIMARY KEY, app_id text NOT NULL, actor_type text NOT NULL,
      actor_id text NOT NULL, request_id text, action text NOT NULL, target_type text NOT NULL, target_id text NOT NULL,
      summary jsonb NOT NULL DEFAULT '{}', created_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)`);
    const audit = async (at: Date) => {
      const id = v7({ msecs: at.getTime() });
      await t.db.pool.query(
        `INSERT INTO audit_events (id, app_id, actor_type, actor_id, action, target_type, target_id, created_at)
         VALUES ($1, $2, 'key', 'k1', 'template.updated', 'template', 'welcome', $3)`,
        [id, t.appId, at],
      );
      return id;
    };
    await audit(ago(365 * DAY + MINUTE));
    const inside = await audit(ago(365 * DAY - MINUTE));
    expect(await run()).toMatchObject({ auditEvents: 1 });
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM audit_events');
    expect(rows.map((r) => r.id)).toEqual([inside]);
  });

  it('lets one worker run it at a time', async () => {
    for (let i = 0; i < 12; i++) await seed(ago(31 * DAY + i * MINUTE));
    // Another replica mid-run holds the lock (in an open transaction, on its own connection).
    const other = await t.db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEYS})`, [RETENTION_LOCK]);
      expect(await run()).toBeNull();
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    // Two at once, the first slowed by its pauses: the other one is turned away, and the lock is free after.
    const [a, b] = await Promise.all([run({ batchSize: 3, pauseMs: 50 }), run({ batchSize: 3, pauseMs: 50 })]);
    expect([a, b].filter((r) => r === null)).toHaveLength(1);
    expect((a ?? b)?.notifications).toBe(12);
    expect(await run()).not.toBeNull();
  });
});

describe('runRetention behind PgBouncer in transaction mode', () => {
  it('lets one replica run it at a time, though the replicas share server connections', async () => {
    // Two server connections for both: one held by the winner's lock, one for its batches and the loser's try.
    const behind = await replicasBehindPgBouncer(t, { replicas: 2, serverConnections: 2 });
    try {
      for (let i = 0; i < 12; i++) await seed(ago(31 * DAY + i * MINUTE));
      const runOn = (db: Db) => runRetention({ pool: db.pool, log: t.log }, options({ batchSize: 3, pauseMs: 50 }));
      const [a, b] = await Promise.all(behind.dbs.map(runOn));
      expect([a, b].filter((r) => r === null)).toHaveLength(1);
      expect((a ?? b)?.notifications).toBe(12);
      // The lock went with its transaction, not left on a server connection: either replica runs next.
      expect(await runOn(behind.dbs[0]!)).not.toBeNull();
      expect(await runOn(behind.dbs[1]!)).not.toBeNull();
    } finally {
      await behind.close();
    }
  });
});

describe('uuidv7Floor', () => {
  it('sorts below every id of that millisecond and above every earlier one', () => {
    const at = new Date('2026-12-01T10:00:00.000Z');
    const floor = uuidv7Floor(at);
    expect(v7({ msecs: at.getTime() }) > floor).toBe(true);
    expect(v7({ msecs: at.getTime() - 1 }) < floor).toBe(true);
  });
});
