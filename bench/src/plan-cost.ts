import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { claimDeliveries, finishDeliveries } from '@notify/core/deliveries';
import type { BenchEnv } from './bench-env.js';
import { progress } from './progress.js';
import { round, summarize } from './stats.js';

/** What PostgreSQL spends on one call of a hot statement: planning it, then running it. */
export interface PlanCost {
  statement: 'claim_deliveries' | 'finish_deliveries';
  planningMs: number;
  executionMs: number;
}

const CALLS = 25;

/**
 * The worker's claim and finish, for one delivery, as the service sends them
 * (unnamed, so planned at every call): their text and values are taken from
 * the service's own functions, then run under EXPLAIN (ANALYZE, SUMMARY) in a
 * transaction rolled back, and the median planning and execution times kept.
 * Below the machine's limit a batch holds one delivery, so this is what each
 * delivery costs PostgreSQL in plans alone.
 */
export async function measurePlanCost(b: BenchEnv): Promise<PlanCost[]> {
  const statements = {
    claim_deliveries: await sqlOf((q) => claimDeliveries(q, [randomUUID()])),
    finish_deliveries: await sqlOf((q) =>
      finishDeliveries(q, [
        { id: randomUUID(), status: 'delivered', provider: 'console', providerMessageId: 'm', attempt: { attempt: 1, provider: 'console', outcome: 'delivered', durationMs: 1 } },
      ]),
    ),
  };
  const out: PlanCost[] = [];
  const client = await b.db.pool.connect();
  try {
    for (const [statement, sql] of Object.entries(statements) as [PlanCost['statement'], pg.QueryConfig][]) {
      const planning: number[] = [];
      const execution: number[] = [];
      // The first calls load the catalog caches of this connection: not counted.
      for (let i = 0; i < CALLS + 5; i++) {
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN (ANALYZE, SUMMARY ON) ${sql.text}`, values: sql.values ?? [] });
        await client.query('ROLLBACK');
        if (i < 5) continue;
        const line = (prefix: string) => Number(/([\d.]+) ms/.exec(rows.find((r) => r['QUERY PLAN'].startsWith(prefix))?.['QUERY PLAN'] ?? '')?.[1]);
        planning.push(line('Planning Time'));
        execution.push(line('Execution Time'));
      }
      const cost = { statement, planningMs: summarize(planning)!.median, executionMs: summarize(execution)!.median };
      progress(`plans: ${statement} for one delivery: planning ${round(cost.planningMs, 3)} ms, execution ${round(cost.executionMs, 3)} ms (medians of ${CALLS})`);
      out.push(cost);
    }
  } finally {
    client.release();
  }
  return out;
}

/** The statement a service function sends, caught instead of sent. */
async function sqlOf(call: (q: pg.Pool) => Promise<unknown>): Promise<pg.QueryConfig> {
  let caught: pg.QueryConfig | undefined;
  const catcher = {
    query: async (config: pg.QueryConfig) => {
      caught = config;
      return { rows: [] };
    },
  };
  await call(catcher as unknown as pg.Pool);
  if (!caught) throw new Error('the function sent no statement');
  return caught;
}
