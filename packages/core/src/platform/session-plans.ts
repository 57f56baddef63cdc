import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from './db.js';

/**
 * A hot batched statement that PostgreSQL plans once per session instead of
 * at every call. Sent as it is, unnamed, a statement like the worker's claim
 * costs more to plan than to run (0.8 ms against 0.1 ms for one delivery):
 * below saturation, where a batch holds one delivery, planning was most of
 * PostgreSQL's CPU. Named (prepared) statements would keep plans too, but do
 * not survive PgBouncer in transaction mode before 1.21.
 *
 * So the statement runs inside a PL/pgSQL function of its own, whose plan
 * each server session caches (and re-makes after an ANALYZE or a change to
 * the tables), whatever pooler is in front. The plan is generic, made once,
 * perhaps while the tables are new and empty: with sequential scans disabled
 * while it is made, it reads rows by their indexes however few the
 * statistics say there are, so a backlog that arrives before the next
 * ANALYZE does not run on a scan of the whole table.
 *
 * The function is named after a hash of the statement, and made on first
 * use by whichever process needs it: one version of the service never runs
 * another's statement, and versions side by side during a rolling deploy each
 * find their own.
 *
 * The statement takes only arrays (`$n::type[]`, each cast where it first
 * appears), so that with every array empty it changes nothing: installing it
 * runs it so, once, to learn the types of its result columns.
 */
export interface SessionPlanned {
  /** For logs and SQL comments. */
  label: string;
  /** The function, `<label>_<hash>`. */
  fn: string;
  /** The statement, as it would be sent unnamed. */
  text: string;
  /** The SQL types of $1..$n. */
  argTypes: string[];
}

export function sessionPlanned(label: string, text: string): SessionPlanned {
  const argTypes: string[] = [];
  for (const [, n, type] of text.matchAll(/\$(\d+)::([a-z_]+\[\])/g)) argTypes[Number(n) - 1] ??= type!;
  const used = new Set([...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  if (argTypes.length === 0 || used.size !== argTypes.length || argTypes.some((t) => t === undefined)) {
    throw new Error(`${label}: every parameter must be an array cast where it first appears ($n::type[])`);
  }
  if (/\$(fn|ddl|install)\$/.test(text)) throw new Error(`${label}: the statement uses a dollar quote the installer needs`);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
  return { label, fn: `${label}_${hash}`, text, argTypes };
}

const UNDEFINED_FUNCTION = '42883';
/** "structure of query does not match function result type": a migration changed a column the function returns. */
const DATATYPE_MISMATCH = '42804';

/** Runs the statement through its function, making the function first when this database has none yet. */
export async function querySessionPlanned<R extends pg.QueryResultRow>(db: Queryable, s: SessionPlanned, values: unknown[]): Promise<pg.QueryResult<R>> {
  const call = { text: `/* ${s.label} */ SELECT * FROM ${s.fn}(${s.argTypes.map((t, i) => `$${i + 1}::${t}`).join(', ')})`, values };
  try {
    return await db.query<R>(call);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== UNDEFINED_FUNCTION && code !== DATATYPE_MISMATCH) throw err;
    await installSessionPlanned(db, s, { replace: code === DATATYPE_MISMATCH });
    return db.query<R>(call);
  }
}

/**
 * Makes the function in the session's schema (the first of its search_path),
 * under an advisory lock so that processes starting together make it once;
 * `replace` drops one whose result no longer matches the tables.
 */
export async function installSessionPlanned(db: Queryable, s: SessionPlanned, { replace = false } = {}): Promise<void> {
  const probe = await db.query({ text: s.text, values: s.argTypes.map(() => []) });
  const { rows } = await db.query<{ t: string }>({
    text: 'SELECT format_type(oid, NULL) AS t FROM unnest($1::oid[]) WITH ORDINALITY AS u(oid, i) ORDER BY i',
    values: [probe.fields.map((f) => f.dataTypeID)],
  });
  const columns = probe.fields.map((f, i) => `"${f.name}" ${rows[i]!.t}`).join(', ');
  const signature = `${s.fn}(${s.argTypes.join(', ')})`;
  // Column names are the statement's own, so `use_column`: where one is also an output name, the column is meant.
  const ddl = `CREATE FUNCTION ${signature} RETURNS TABLE (${columns}) LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
    AS $fn$ #variable_conflict use_column
    BEGIN RETURN QUERY ${s.text}; END $fn$`;
  await db.query(`DO $install$ BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('notify.session_plans'));
    ${replace ? `EXECUTE $ddl$DROP FUNCTION IF EXISTS ${signature}$ddl$;` : ''}
    IF to_regprocedure($ddl$${signature}$ddl$) IS NULL THEN EXECUTE $ddl$${ddl}$ddl$; END IF;
  END $install$`);
}
