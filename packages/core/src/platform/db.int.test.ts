import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaRoleUrl, startPgBouncer, createTestEnv, type PgBouncer, type TestEnv } from '../testing/index.js';
import { closeDb, createDb, schemaProblem, type Db } from './db.js';

let t: TestEnv;
let bouncer: PgBouncer;
const opened: Db[] = [];
const open = (url: string, schema: string) => {
  const db = createDb({ url, schema, poolSize: 2 });
  opened.push(db);
  return db;
};

beforeAll(async () => {
  t = await createTestEnv();
  bouncer = await startPgBouncer(t.env.DATABASE_URL, { poolSize: 2 });
});
afterAll(async () => {
  await Promise.all(opened.map(closeDb));
  await bouncer?.stop();
  await t?.close();
});

describe('the schema of DATABASE_SCHEMA', () => {
  it('is where a direct connection resolves names', async () => {
    expect(await schemaProblem(t.db.pool, t.env.DATABASE_SCHEMA)).toBeNull();
  });

  it('public needs nothing, through PgBouncer too', async () => {
    expect(await schemaProblem(open(bouncer.url, 'public').pool, 'public')).toBeNull();
  });

  it('another one works behind PgBouncer in transaction mode when the role carries its search_path', async () => {
    const db = open(await schemaRoleUrl(bouncer, t.env.DATABASE_SCHEMA), t.env.DATABASE_SCHEMA);
    expect(await schemaProblem(db.pool, t.env.DATABASE_SCHEMA)).toBeNull();
    // Prisma names the schema itself; the hand-written SQL finds the same rows through search_path.
    const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM apps');
    expect(rows.map((r) => r.id)).toEqual([t.appId]);
    expect((await db.prisma.app.findMany()).map((a) => a.id)).toEqual([t.appId]);
  });

  it('is named, with the fix, when PgBouncer drops the startup search_path and the role has none', async () => {
    const db = open(bouncer.url, t.env.DATABASE_SCHEMA);
    const problem = await schemaProblem(db.pool, t.env.DATABASE_SCHEMA);
    expect(problem).toContain(`DATABASE_SCHEMA is "${t.env.DATABASE_SCHEMA}" but unqualified names resolve to "public"`);
    expect(problem).toContain(`ALTER ROLE <user> IN DATABASE <database> SET search_path = "${t.env.DATABASE_SCHEMA}"`);
  });

  it('is named when it does not exist (not migrated)', async () => {
    const db = open(t.env.DATABASE_URL, 'not_migrated_here');
    expect(await schemaProblem(db.pool, 'not_migrated_here')).toBe(
      'DATABASE_SCHEMA "not_migrated_here" does not exist in the database: run the migrations (npm run db:migrate) first',
    );
  });
});
