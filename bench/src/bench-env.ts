import { randomBytes } from 'node:crypto';
import { closeDb, createDb, createRedis, deleteKeys, loadEnv, migrateDatabase, newId, redisReady, type Db, type Redis } from '@notify/core/platform';
import { createKey } from '@notify/core/access';

/**
 * The bench's own corner of the shared PostgreSQL and Redis: a fresh schema
 * (migrated like production) and a BullMQ key prefix nobody else uses. Both
 * are removed by close(), so a run leaves nothing behind, and the run never
 * touches anyone else's keys (no FLUSHDB).
 */
export interface BenchEnv {
  databaseUrl: string;
  redisUrl: string;
  schema: string;
  prefix: string;
  /** Pool for the bench's own queries (results, sizes); small, so it barely competes with the service. */
  db: Db;
  /** Worker-style connection (waits out hiccups) for queue counts and INFO. */
  redis: Redis;
  /**
   * A new app with its own API key. Every measured run gets one, so its
   * notifications are found by app_id (an indexed column) and runs never mix.
   * Where autovacuum is off, the schema's tables are vacuumed and analyzed
   * first, as autovacuum would have done by then in production: otherwise
   * each run would inherit the dead rows and stale statistics of the last.
   */
  newApp(label: string): Promise<{ appId: string; key: string }>;
  close(): Promise<void>;
}

/**
 * `migrate` builds the schema: this checkout's migrations, or a baseline
 * tree's (its code runs on its own schema). `redisUrl`: a Redis server of the
 * section's own instead of REDIS_URL's.
 */
export async function createBenchEnv(migrate: (url: string, schema: string) => Promise<unknown> = migrateDatabase, redisUrl = process.env.REDIS_URL): Promise<BenchEnv> {
  // The service's own defaults and validation for the two URLs (same as `npm start`).
  const env = loadEnv({ DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: redisUrl });
  const suffix = randomBytes(5).toString('hex');
  const schema = `bench_${suffix}`;
  const prefix = `bench-${suffix}`;
  await migrate(env.DATABASE_URL, schema);
  const db = createDb({ url: env.DATABASE_URL, schema, poolSize: 4, connectionTimeoutMs: 30_000 });
  const redis = createRedis(env.REDIS_URL, 'worker');
  await redisReady(redis);
  const keyIds: string[] = [];
  let closed = false;
  const { rows } = await db.pool.query<{ autovacuum: string }>('SHOW autovacuum');
  const autovacuum = rows[0]?.autovacuum === 'on';
  return {
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    schema,
    prefix,
    db,
    redis,
    async newApp(label) {
      if (!autovacuum) await vacuum(db, schema);
      const appId = newId();
      await db.prisma.app.create({ data: { id: appId, name: `${label}-${appId.slice(-8)}` } });
      const created = await createKey(db, appId, label);
      keyIds.push(created.id);
      return { appId, key: created.key };
    },
    async close() {
      if (closed) return;
      closed = true;
      await deleteKeys(redis, `${prefix}:*`);
      // The API's rate limiter counts per key id outside the queue prefix; those keys expire in a second anyway.
      for (let i = 0; i < keyIds.length; i += 500) await redis.del(...keyIds.slice(i, i + 500).map((id) => `notify:rate:${id}`));
      redis.disconnect();
      await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await closeDb(db);
    },
  };
}

async function vacuum(db: Db, schema: string): Promise<void> {
  const { rows } = await db.pool.query<{ name: string }>(`SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = $1`, [schema]);
  if (rows.length > 0) await db.pool.query(`VACUUM (ANALYZE) ${rows.map((r) => r.name).join(', ')}`);
}
