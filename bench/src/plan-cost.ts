import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { claimDeliveries, finishDeliveries, WORKER_STATEMENTS } from '@notify/core/deliveries';
import type { BenchEnv } from './bench-env.js';
import { progress } from './progress.js';
import { round, summarize } from './stats.js';

/** How a statement reaches PostgreSQL. */
export type PlanVariant = 'as sent' | 'unnamed';

/** What PostgreSQL spends on one call of a hot statement: planning it, then running it. */
export interface PlanCost {
  statement: keyof typeof WORKER_STATEMENTS;
  variant: PlanVariant;
  planningMs: number;
  executionMs: number;
}

const CALLS = 25;

/**
 * The worker's claim and finish, for one delivery, each two ways: as the
 * service sends it (a call of the function whose plan the session keeps,
 * see sessionPlanned: planning is the call's own, execution includes the
 * statement's) and, for comparison, the same statement sent unnamed (planned
 * at every call). Values are taken from the service's own functions, then
 * each runs under EXPLAIN (ANALYZE, SUMMARY) in a transaction rolled back,
 * and the median planning and execution times are kept. Below the machine's
 * limit a batch holds one delivery, so this is what each delivery costs
 * PostgreSQL in plans.
 */
export async function measurePlanCost(b: BenchEnv): Promise<PlanCost[]> {
  const sent = {
    claim_deliveries: await sqlOf((q) => claimDeliveries(q, [randomUUID()])),
    finish_deliveries: await sqlOf((q) =>
      finishDeliveries(q, [
        { id: randomUUID(), status: 'delivered', provider: 'console', providerMessageId: 'm', attempt: { attempt: 1, provider: 'console', outcome: 'delivered', durationMs: 1 } },
      ]),
    ),
  };
  // A claim and a finish of nothing make their functions, as a worker's first batch would.
  await claimDeliveries(b.db.pool, []);
  await finishDeliveries(b.db.pool, []);
  const out: PlanCost[] = [];
  const client = await b.db.pool.connect();
  try {
    for (const statement of Object.keys(sent) as PlanCost['statement'][]) {
      const variants: Record<PlanVariant, pg.QueryConfig> = {
        'as sent': sent[statement],
        unnamed: { text: WORKER_STATEMENTS[statement].text, values: sent[statement].values ?? [] },
      };
      for (const [variant, sql] of Object.entries(variants) as [PlanVariant, pg.QueryConfig][]) {
        const planning: number[] = [];
        const execution: number[] = [];
        // The first calls load the catalog caches of this connection and make the function's plan: not counted.
        for (let i = 0; i < CALLS + 5; i++) {
          await client.query('BEGIN');
          const { rows } = await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN (ANALYZE, SUMMARY ON) ${sql.text}`, values: sql.values ?? [] });
          await client.query('ROLLBACK');
          if (i < 5) continue;
          const line = (prefix: string) => Number(/([\d.]+) ms/.exec(rows.find((r) => r['QUERY PLAN'].startsWith(prefix))?.['QUERY PLAN'] ?? '')?.[1]);
          planning.push(line('Planning Time'));
          execution.push(line('Execution Time'));
        }
        const cost = { statement, variant, planningMs: summarize(planning)!.median, executionMs: summarize(execution)!.median };
        progress(`plans: ${statement} ${variant}, one delivery: planning ${round(cost.planningMs, 3)} ms, execution ${round(cost.executionMs, 3)} ms (medians of ${CALLS})`);
        out.push(cost);
      }
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
