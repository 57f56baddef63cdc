import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import './provided.js';
import { closeDb, createDb, type Db } from '../platform/db.js';
import { loadEnv, type Env } from '../platform/env.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { migrateDatabase } from '../platform/migrate.js';
import { closeQueues, createQueues, type ChannelQueues } from '../platform/queues.js';
import { createRedis, deleteKeys, redisReady, redisTarget, type Redis } from '../platform/redis.js';

/**
 * Real PostgreSQL and Redis for one test file, isolated from every other:
 * its own database schema (migrated) and its own BullMQ key prefix. Redis is
 * a cluster when the global setup provides one (the cluster tier).
 */
export interface TestEnv {
  env: Env;
  db: Db;
  queues: ChannelQueues;
  /** Producer connection (fails fast), as the API uses. */
  redis: Redis;
  /** Worker connection (waits out outages), as workers use. */
  workerRedis: Redis;
  log: Logger;
  appId: string;
  close(): Promise<void>;
}

export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const suffix = randomBytes(6).toString('hex');
  const schema = `t_${suffix}`;
  const env = loadEnv({
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: inject('redisUrl'),
    REDIS_CLUSTER_NODES: inject('redisClusterNodes'),
    DATABASE_SCHEMA: schema,
    QUEUE_PREFIX: `test-${suffix}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    NODE_ENV: 'test',
    ...overrides,
  });
  await migrateDatabase(env.DATABASE_URL, schema);
  const db = createDb({ url: env.DATABASE_URL, schema, poolSize: 10 });
  const appId = 'test-app';
  await db.prisma.app.create({ data: { id: appId, name: appId } });
  const redis = createRedis(redisTarget(env), 'producer');
  const workerRedis = createRedis(redisTarget(env), 'worker');
  await Promise.all([redisReady(redis), redisReady(workerRedis)]);
  const queues = createQueues(redis, env.QUEUE_PREFIX);
  const log = createLogger(env.LOG_LEVEL);
  return {
    env,
    db,
    queues,
    redis,
    workerRedis,
    log,
    appId,
    async close() {
      await closeQueues(queues);
      await deleteKeys(workerRedis, `${env.QUEUE_PREFIX}:*`);
      redis.disconnect();
      workerRedis.disconnect();
      await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await closeDb(db);
    },
  };
}
