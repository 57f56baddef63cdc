import type pg from 'pg';

/** The tag an unnamed statement starts with: `/* claim_deliveries *\/ WITH ...`. */
const TAG = /^\/\* (\w+) \*\//;

/**
 * The real pool, counting the statements that go through it by name (a
 * prepared statement's name, or an unnamed one's leading tag), to see
 * batching at work.
 */
export function countingPool(pool: pg.Pool): { pool: pg.Pool; count: (name: string) => number; reset: () => void } {
  const counts = new Map<string, number>();
  const counting = Object.create(pool) as pg.Pool;
  counting.query = ((config: { name?: string; text?: string } | string, ...rest: unknown[]) => {
    const name = typeof config === 'object' ? (config.name ?? TAG.exec(config.text ?? '')?.[1]) : undefined;
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
    return (pool.query as (...a: unknown[]) => unknown).call(pool, config, ...rest);
  }) as pg.Pool['query'];
  return { pool: counting, count: (name) => counts.get(name) ?? 0, reset: () => counts.clear() };
}
