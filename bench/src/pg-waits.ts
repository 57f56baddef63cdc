import type pg from 'pg';
import { round } from './stats.js';

/**
 * What the service's PostgreSQL sessions were doing, sampled from
 * pg_stat_activity every SAMPLE_MS: the average number of its backends in
 * each state ("average active sessions"). "CPU" is an active backend with no
 * wait event; "IO:WALSync" and friends mean commits waiting for the disk;
 * "Lock:..." means rows or transactions contended; "idle in transaction"
 * means a transaction held open while the application does something else.
 */
export type PgWaits = Record<string, number>;

/** The same, by statement (its first words): which of the service's statements keep PostgreSQL busy. */
export type PgStatements = Record<string, number>;

const SAMPLE_MS = 200;

/** `backends` finds the service's backend pids; asked again every 2 s, as pools open connections under load. */
export function samplePgWaits(pool: pg.Pool, backends: () => Promise<ReadonlySet<number>>): { stop(): Promise<{ waits: PgWaits; statements: PgStatements }> } {
  const counts = new Map<string, number>();
  const statements = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    let pids: number[] = [];
    for (let i = 0; running; i++) {
      try {
        if (i % 10 === 0) pids = [...(await backends())];
        if (pids.length > 0) {
          const { rows } = await pool.query<{ what: string; statement: string }>(
            `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END AS what,
               left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS statement
             FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND state IN ('active', 'idle in transaction')`,
            [pids],
          );
          for (const r of rows) {
            counts.set(r.what, (counts.get(r.what) ?? 0) + 1);
            if (r.what !== 'idle in transaction') statements.set(r.statement, (statements.get(r.statement) ?? 0) + 1);
          }
          samples++;
        }
      } catch {
        // A missed sample only thins the statistics; it must not fail the measurement.
      }
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const average = (m: Map<string, number>) => Object.fromEntries([...m].map(([k, n]) => [k, round(n / Math.max(1, samples), 2)] as const).sort((a, b) => b[1] - a[1]));
      return { waits: average(counts), statements: average(statements) };
    },
  };
}

export function formatWaits(w: PgWaits): string {
  const total = round(
    Object.values(w).reduce((a, b) => a + b, 0),
    1,
  );
  const top = Object.entries(w)
    .slice(0, 4)
    .map(([what, n]) => `${what} ${n}`)
    .join(', ');
  return `pg sessions busy ${total}${top ? ` (${top})` : ''}`;
}

export function formatStatements(st: PgStatements, top = 2): string {
  const entries = Object.entries(st).slice(0, top);
  return entries.length ? `busiest statements: ${entries.map(([q, n]) => `${n} x "${q}"`).join(', ')}` : '';
}
