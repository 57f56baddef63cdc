import type { PoolClient } from 'pg';
import { expect } from 'vitest';
import { json, type ErrorJson, type TestApp } from './test-app.js';

/**
 * The in-flight case of an Idempotency-Key: `first` holds the key's row in an
 * open transaction whose stored claim expires within a second, and `pending`
 * is a second request with the key. Waits until `pending` blocks on that row
 * lock, commits `first` only after the claim's window, and checks `pending`
 * is answered 409 with Retry-After: 1.
 */
export async function expectKeyInFlight(t: TestApp, first: PoolClient, pending: Promise<Response>): Promise<void> {
  for (const started = Date.now(); ; ) {
    const { rows } = await t.db.pool.query(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO idempotency_keys%' AND pid <> pg_backend_pid()`,
    );
    if (rows.length > 0) break;
    expect(Date.now() - started).toBeLessThan(900);
    await new Promise((r) => setTimeout(r, 5));
  }
  await first.query(`SELECT pg_sleep(greatest(0, extract(epoch FROM now() + interval '1.05 second' - clock_timestamp())))`);
  await first.query('COMMIT');
  const res = await pending;
  expect(res.status).toBe(409);
  expect(res.headers.get('retry-after')).toBe('1');
  expect((await json<ErrorJson>(res)).error.code).toBe('conflict');
}
