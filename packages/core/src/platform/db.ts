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
    // Unqualified table names in raw SQL resolve to the configured schema.
    options: `-c search_path="${schema}"`,
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
