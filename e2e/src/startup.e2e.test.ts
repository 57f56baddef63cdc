import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker } from './processes.js';
import { scratchRedis } from './scratch-redis.js';

let t: TestEnv;
let redis: Awaited<ReturnType<typeof scratchRedis>>;

beforeAll(async () => {
  t = await createTestEnv();
  redis = await scratchRedis(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
});
afterAll(async () => {
  await redis?.stop();
  await t?.close();
});

describe('startup checks', () => {
  it('the API refuses to start when Redis may evict keys, saying why', async () => {
    const failed = await startApi(t, { REDIS_URL: redis.url }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/api exited/);
    expect(failed).toMatch(/maxmemory-policy is \\"allkeys-lru\\"; it must be \\"noeviction\\"/);
  });

  it('so does a worker', async () => {
    const failed = await startWorker(t, ['email'], { REDIS_URL: redis.url }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/refusing to start/);
  });

  it('a worker whose database role may not create functions in its schema refuses to start, naming the grant it needs', async () => {
    const schema = t.env.DATABASE_SCHEMA;
    const role = `no_create_${schema}`;
    await t.db.pool.query(`CREATE ROLE "${role}" LOGIN`);
    try {
      await t.db.pool.query(`GRANT USAGE ON SCHEMA "${schema}" TO "${role}"; GRANT ALL ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`);
      const url = new URL(t.env.DATABASE_URL);
      url.username = role;
      const failed = await startWorker(t, ['email'], { DATABASE_URL: url.toString() }).then(
        () => null,
        (err: Error) => err.message,
      );
      expect(failed).toMatch(/worker exited/);
      expect(failed).toMatch(/refusing to start: permission denied for schema/);
      expect(failed).toContain(`the role needs CREATE on schema \\"${schema}\\"`);
    } finally {
      await t.db.pool.query(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`);
    }
  });
});
