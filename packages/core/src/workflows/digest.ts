// Digest steps: the first run of (app, workflow, user, digest key) to reach the step opens a window and waits; runs that reach
// it while the window is open add their data to its events and end as `digested`; when the window closes, the opener goes on
// once with every event.
import type { DigestStep } from '../schemas/workflows.js';
import { valueAt } from './conditions.js';
import { waitEnd } from './timing.js';
import { advance, endRun, wait, type DueStep, type StepContext } from './transitions.js';

/** Most events one digest keeps: later triggers still merge (and are counted), their data is not added. */
export const DIGEST_MAX_EVENTS = 1000;

/** The digest key of a run at a digest step: the trigger's digest_key, else the step's key path into the data, else '' (one digest per user). */
export function digestKeyOf(run: { digest_key: string | null; data: Record<string, unknown> }, step: DigestStep): string {
  if (run.digest_key !== null) return run.digest_key;
  if (step.key === undefined) return '';
  const value = valueAt(run.data, step.key.replace(/^data\./, ''));
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * A run reaching a digest step: merges into the window open for its key, or
 * opens one. An advisory lock per (schema, app, workflow, user, step, key)
 * makes concurrent arrivals take turns, so exactly one opens the window; the
 * opener's row lock orders a merge against the window's close, so an event
 * lands either in the closing digest or in the next one, never in neither.
 */
export async function reachDigest(c: StepContext, step: DigestStep, timeZone: string | null): Promise<DueStep | null> {
  const key = digestKeyOf(c.run, step);
  const lock = JSON.stringify(['digest', c.run.app_id, c.run.workflow_key, c.run.user_id, step.id, key]);
  // Blocking, unlike withAdvisoryXactLock's try-lock: a trigger that arrives second must wait its turn, not give up. The
  // schema is the second key, as in ADVISORY_LOCK_KEYS, so test files in other schemas never wait on each other.
  await c.client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext(current_schema()))', [lock]);
  const { rows } = await c.client.query<{ id: string }>(
    `SELECT r.id FROM workflow_runs r
     JOIN workflow_run_steps s ON s.run_id = r.id AND s.step_index = r.step_index
     WHERE r.app_id = $1 AND r.workflow_key = $2 AND r.user_id = $3 AND r.digest_key = $4 AND r.status = 'running'
       AND s.step_id = $5 AND s.type = 'digest' AND s.status = 'waiting' AND r.next_at > $6 AND r.id <> $7
     ORDER BY r.id LIMIT 1 FOR UPDATE OF r`,
    [c.run.app_id, c.run.workflow_key, c.run.user_id, key, step.id, c.now, c.run.id],
  );
  const opener = rows[0];
  if (opener) {
    await c.client.query(
      `UPDATE workflow_runs SET data = CASE WHEN jsonb_array_length(COALESCE(data->'events', '[]'::jsonb)) < $3
         THEN jsonb_set(data, '{events}', COALESCE(data->'events', '[]'::jsonb) || jsonb_build_array($2::jsonb)) ELSE data END,
         updated_at = $4
       WHERE id = $1`,
      [opener.id, JSON.stringify(c.run.data), DIGEST_MAX_EVENTS, c.now],
    );
    await c.client.query(
      `UPDATE workflow_run_steps SET detail = jsonb_set(COALESCE(detail, '{}'::jsonb), '{merged}', to_jsonb(COALESCE((detail->>'merged')::int, 0) + 1))
       WHERE run_id = $1 AND status = 'waiting' AND type = 'digest'`,
      [opener.id],
    );
    await c.client.query('UPDATE workflow_runs SET digest_key = $2 WHERE id = $1', [c.run.id, key]);
    return endRun(c, 'digested', { status: 'done', detail: { merged_into: opener.id } }, `digested into ${opener.id}`, opener.id);
  }
  const until = waitEnd(c.now, { duration: step.window, until: step.until }, timeZone);
  await c.client.query(`UPDATE workflow_runs SET digest_key = $2, data = data || jsonb_build_object('events', jsonb_build_array(data)) WHERE id = $1`, [c.run.id, key]);
  return wait(c, until, { window_ends_at: until.toISOString(), digest_key: key, merged: 0 });
}

/** The window closed: the run goes on with its events (their count is on the step). */
export async function closeDigest(c: StepContext): Promise<DueStep | null> {
  const { rows } = await c.client.query<{ n: number }>(`SELECT jsonb_array_length(COALESCE(data->'events', '[]'::jsonb))::int AS n FROM workflow_runs WHERE id = $1`, [c.run.id]);
  return advance(c, { status: 'done', detail: { events: rows[0]?.n ?? 0 } }, c.index + 1);
}
