import type { Notification } from '@notify/core/schemas';
import { createTestEnv, showAdmin, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, startWorker, type ApiService } from '../processes.js';

/**
 * Proof that the tier's traffic really went through PgBouncer in transaction
 * mode: the service's client connections outnumber the server connections of
 * its pool, which never grow past the pool size, and PostgreSQL sees only
 * those few sessions of the test's role.
 */
const bouncer = inject('pgbouncer')!;
let t: TestEnv;
let api: ApiService;

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t, { DATABASE_POOL_SIZE: '20' });
});
afterAll(async () => {
  await t?.close();
});

interface Pool {
  clients: number;
  servers: number;
  mode: unknown;
}

/** The role this file's service processes log in as (processes.ts: one per schema, so a pool of its own). */
const role = () => `${bouncer.rolePrefix}${t.env.DATABASE_SCHEMA}`;

async function ourPool(): Promise<Pool> {
  const rows = await showAdmin(bouncer.adminUrl, 'POOLS');
  const row = rows.find((r) => r.user === role());
  if (!row) throw new Error(`no PgBouncer pool for ${role()}: ${JSON.stringify(rows)}`);
  const n = (k: string) => Number(row[k] ?? 0);
  return {
    clients: n('cl_active') + n('cl_waiting'),
    servers: n('sv_active') + n('sv_idle') + n('sv_used') + n('sv_tested') + n('sv_login'),
    mode: row.pool_mode,
  };
}

describe('the service behind PgBouncer in transaction mode', () => {
  it('shares a few server connections among many client connections, and delivers everything', async () => {
    const worker = await startWorker(t, ['in_app'], { DATABASE_POOL_SIZE: '20' });
    const before = Number((await showAdmin(bouncer.adminUrl, 'STATS')).find((r) => r.database === 'test')?.total_xact_count ?? 0);
    expect((await api.call('PUT', '/users/pgb', {})).status).toBe(201);
    const samples: Pool[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await ourPool());
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    // Requests at once, each needing a connection: the API's pool opens many clients to PgBouncer.
    const sent = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const res = await api.call('POST', '/notifications', { user_id: 'pgb', message: `m${i}`, channels: ['in_app'] });
        expect(res.status).toBe(202);
        return ((await res.json()) as Notification).id;
      }),
    );
    const finished = await waitFor(
      async () => {
        const all = await Promise.all(sent.map(async (id) => ((await (await api.call('GET', `/notifications/${id}`)).json()) as Notification).status));
        return all.every((s) => s !== 'pending') ? all : undefined;
      },
      60_000,
      'every notification finished',
    );
    samples.push(await ourPool());
    sampling = false;
    await sampler;
    expect(new Set(finished)).toEqual(new Set(['delivered']));

    expect(samples.every((s) => s.mode === 'transaction')).toBe(true);
    expect(Math.max(...samples.map((s) => s.servers))).toBeLessThanOrEqual(bouncer.poolSize);
    expect(Math.max(...samples.map((s) => s.clients))).toBeGreaterThan(bouncer.poolSize);
    // PostgreSQL's side: this role's sessions are PgBouncer's server connections, no more.
    const { rows } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [role()]);
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect(rows[0]!.n).toBeLessThanOrEqual(bouncer.poolSize);
    const after = Number((await showAdmin(bouncer.adminUrl, 'STATS')).find((r) => r.database === 'test')?.total_xact_count ?? 0);
    expect(after - before).toBeGreaterThanOrEqual(sent.length);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('a process whose schema PgBouncer drops refuses to start, naming the fix', async () => {
    // As the superuser, whose role sets no search_path: PgBouncer ignores the startup `options`, names would resolve to public.
    await expect(startApi(t, { DATABASE_URL: bouncer.url })).rejects.toThrow(
      // (The log line is JSON: its quotes come escaped.)
      new RegExp(`refusing to start: DATABASE_SCHEMA is \\W+${t.env.DATABASE_SCHEMA}\\W+ but unqualified names resolve to \\W+public\\W+.*ALTER ROLE`),
    );
  });
});
