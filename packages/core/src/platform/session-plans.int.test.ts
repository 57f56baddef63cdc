import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../testing/index.js';
import { querySessionPlanned, sessionPlanned } from './session-plans.js';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestEnv();
  await t.db.pool.query('CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)');
  await t.db.pool.query('INSERT INTO counters SELECT i, 0 FROM generate_series(1, 5) i');
});
afterAll(() => t?.close());

const bump = sessionPlanned('bump_counters', 'UPDATE counters SET n = n + 1 WHERE id = ANY($1::int[]) RETURNING id, n');
const functions = async (prefix: string) =>
  (await t.db.pool.query<{ proname: string }>(`SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname LIKE $1`, [`${prefix}%`])).rows.map(
    (r) => r.proname,
  );

describe('sessionPlanned', () => {
  it('names the function after the statement, and takes its argument types from the casts', () => {
    expect(bump.fn).toMatch(/^bump_counters_[0-9a-f]{12}$/);
    expect(bump.argTypes).toEqual(['int[]']);
    expect(sessionPlanned('bump_counters', 'UPDATE counters SET n = n + 2 WHERE id = ANY($1::int[]) RETURNING id, n').fn).not.toBe(bump.fn);
  });

  it('refuses a statement with a parameter that is not an array, or not cast', () => {
    expect(() => sessionPlanned('x', 'SELECT $1::int')).toThrow(/array cast/);
    expect(() => sessionPlanned('x', 'SELECT * FROM unnest($1::int[]) WHERE $2 IS NULL')).toThrow(/array cast/);
  });

  it('makes the function once when processes first need it together, and each call runs the statement once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => querySessionPlanned<{ id: number; n: number }>(t.db.pool, bump, [[1, 2]])));
    for (const r of results) expect(r.rows.map((x) => x.id).sort()).toEqual([1, 2]);
    expect(await functions('bump_counters_')).toEqual([bump.fn]);
    const { rows } = await t.db.pool.query('SELECT id, n FROM counters ORDER BY id');
    expect(rows).toEqual([
      { id: 1, n: 8 },
      { id: 2, n: 8 },
      { id: 3, n: 0 },
      { id: 4, n: 0 },
      { id: 5, n: 0 },
    ]);
  });

  it('makes the function again when a migration changed a column it returns', async () => {
    await querySessionPlanned(t.db.pool, bump, [[3]]);
    await t.db.pool.query('ALTER TABLE counters ALTER COLUMN n TYPE bigint');
    const { rows } = await querySessionPlanned<{ id: number; n: string }>(t.db.pool, bump, [[3]]);
    expect(rows).toEqual([{ id: 3, n: '2' }]);
    expect(await functions('bump_counters_')).toEqual([bump.fn]);
  });

  it('passes other errors through, and writes nothing for them', async () => {
    const broken = sessionPlanned('broken_counters', 'UPDATE counters SET n = n / 0 WHERE id = ANY($1::int[]) RETURNING id');
    await expect(querySessionPlanned(t.db.pool, broken, [[4]])).rejects.toMatchObject({ code: '22012' });
    expect((await t.db.pool.query('SELECT n FROM counters WHERE id = 4')).rows).toEqual([{ n: '0' }]);
  });
});
