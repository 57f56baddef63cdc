import type pg from 'pg';
import { round } from './stats.js';

/**
 * PostgreSQL's own counters before and after a run, so a figure can be read
 * per notification: rows written per table (pg_stat_user_tables, our schema
 * only: exact), and commits, WAL bytes and WAL syncs (pg_stat_database and
 * pg_stat_wal: the whole server, so other sessions' work counts too).
 */
export interface PgCounters {
  tables: Record<string, { ins: number; upd: number; del: number }>;
  commits: number;
  walBytes: number;
  walSyncs: number;
}

export interface PgActivity {
  perNotification: {
    commits: number;
    walKb: number;
    walSyncs: number;
    rowsInserted: number;
    rowsUpdated: number;
    /** Rows inserted + updated + deleted per table. */
    tables: Record<string, number>;
  };
}

export async function pgCounters(pool: pg.Pool, schema: string): Promise<PgCounters> {
  // Counters reach the shared statistics within a second of a transaction; wait that out so nothing is missed.
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const [tables, db, wal] = await Promise.all([
    pool.query<{ name: string; ins: string; upd: string; del: string }>(
      'SELECT relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables WHERE schemaname = $1',
      [schema],
    ),
    pool.query<{ commits: string }>('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()'),
    pool.query<{ bytes: string; syncs: string }>('SELECT wal_bytes AS bytes, wal_sync AS syncs FROM pg_stat_wal').catch(() => ({ rows: [] })),
  ]);
  return {
    tables: Object.fromEntries(tables.rows.map((r) => [r.name, { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del) }])),
    commits: Number(db.rows[0]?.commits ?? 0),
    walBytes: Number(wal.rows[0]?.bytes ?? 0),
    walSyncs: Number(wal.rows[0]?.syncs ?? 0),
  };
}

export function pgActivity(before: PgCounters, after: PgCounters, notifications: number): PgActivity {
  const n = Math.max(1, notifications);
  const tables: Record<string, number> = {};
  let ins = 0;
  let upd = 0;
  for (const [name, t] of Object.entries(after.tables)) {
    const b = before.tables[name] ?? { ins: 0, upd: 0, del: 0 };
    const written = t.ins - b.ins + (t.upd - b.upd) + (t.del - b.del);
    ins += t.ins - b.ins;
    upd += t.upd - b.upd;
    if (written > 0) tables[name] = round(written / n, 2);
  }
  return {
    perNotification: {
      commits: round((after.commits - before.commits) / n, 2),
      walKb: round((after.walBytes - before.walBytes) / 1024 / n, 2),
      walSyncs: round((after.walSyncs - before.walSyncs) / n, 2),
      rowsInserted: round(ins / n, 2),
      rowsUpdated: round(upd / n, 2),
      tables,
    },
  };
}

export function formatActivity(a: PgActivity): string {
  const p = a.perNotification;
  return `per notification: ${p.commits} commits, ${p.walSyncs} WAL syncs, ${p.walKb} kB WAL, ${p.rowsInserted} rows inserted, ${p.rowsUpdated} updated`;
}
