import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';

export type { PrismaClient };

/**
 * One pg pool shared by Prisma (resource CRUD) and the hand-written SQL of the
 * hot path (notification inserts, delivery status updates), which is batched.
 */
export interface Db {
  prisma: PrismaClient;
  pool: pg.Pool;
}

/** A pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export interface DbOptions {
  url: string;
  schema: string;
  poolSize: number;
  /** Fail a query that waits for a connection longer than this (ms), instead of hanging. */
  connectionTimeoutMs?: number;
}

export function createDb({ url, schema, poolSize, connectionTimeoutMs = 5000 }: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    // Unqualified table names in raw SQL resolve to the configured schema. Public, the default,
    // sends nothing, so any pooler takes the connection as it is; behind PgBouncer in transaction
    // mode another schema comes from the role on the server (README, PostgreSQL behind PgBouncer).
    ...(schema === 'public' ? {} : { options: `-c search_path="${schema}"` }),
  });
  // An idle client that loses its server emits 'error'; the pool replaces it.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
  return { prisma, pool };
}

export async function closeDb(db: Db): Promise<void> {
  await db.prisma.$disconnect();
  await db.pool.end();
}

/** A value for a Prisma JSON column: zod's `unknown` leaves are JSON once parsed from a request. */
export function toJson(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}

/** Runs `fn` in a transaction on one pooled connection: committed if it returns, rolled back if it throws. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Why unqualified names on this connection would not resolve to `schema`, or
 * null when they do. Prisma names the schema in its own SQL but the
 * hand-written statements rely on search_path: a mismatch (a pooler that drops
 * the startup `options`, a role with another search_path, a schema not
 * migrated yet) would split the service's rows over two schemas, or fail every
 * statement.
 */
export async function schemaProblem(db: Queryable, schema: string): Promise<string | null> {
  const { rows } = await db.query<{ current: string | null; exists: boolean }>(
    'SELECT current_schema() AS current, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists',
    [schema],
  );
  const { current = null, exists = false } = rows[0] ?? {};
  if (current === schema) return null;
  if (!exists) return `DATABASE_SCHEMA "${schema}" does not exist in the database: run the migrations (npm run db:migrate) first`;
  return (
    `DATABASE_SCHEMA is "${schema}" but unqualified names resolve to ${current === null ? 'no schema' : `"${current}"`}: ` +
    `behind PgBouncer in transaction mode set the schema on the server, ALTER ROLE <user> IN DATABASE <database> SET search_path = "${schema}"`
  );
}

/**
 * The arguments of an advisory lock call for the number in $1: that number and
 * the schema's, so services (and test files) in different schemas of one
 * database never exclude each other.
 */
export const ADVISORY_LOCK_KEYS = '$1::int, hashtext(current_schema())';

/**
 * Runs `fn` while this process holds the advisory lock `key`, or returns null
 * at once when another session holds it. A transaction-scoped lock, taken in a
 * transaction left open on a connection of its own (the `client` fn gets) and
 * let go at COMMIT, or when the process dies and its connection goes. A session
 * lock (pg_try_advisory_lock) would stay on the server connection, which
 * PgBouncer in transaction mode hands to other clients once the statement ends.
 * The open transaction holds no snapshot between statements (read committed),
 * so it keeps no row versions from vacuum.
 */
export async function withAdvisoryXactLock<T>(pool: pg.Pool, key: number, fn: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEYS}) AS ok`, [key]);
    if (rows[0]?.ok !== true) return null;
    return await fn(client);
  } finally {
    // A connection whose COMMIT failed may still be in the transaction: dropped, not pooled.
    const failed = await client.query('COMMIT').then(
      () => undefined,
      (err: Error) => err,
    );
    client.release(failed);
  }
}
