// A branch step's condition, evaluated when the branch runs: an earlier send step's outcome, or a field compared to a value.
import type { Queryable } from '../platform/db.js';
import type { FieldCondition, StepCondition } from '../schemas/workflows.js';

/** The value at a dot path (`post.id`) in trigger data; undefined when any part is missing. */
export function valueAt(data: unknown, path: string): unknown {
  let value: unknown = data;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A field condition on a value already looked up (pure). gt / lt compare numbers with numbers and strings with strings; anything else is false. */
export function compare(value: unknown, op: FieldCondition['op'], expected: unknown): boolean {
  const present = value !== undefined && value !== null;
  switch (op) {
    case 'exists':
      return present;
    case 'not_exists':
      return !present;
    case 'eq':
      return value === expected || (value === undefined && expected === null);
    case 'neq':
      return !(value === expected || (value === undefined && expected === null));
    case 'gt':
    case 'lt': {
      const comparable = (typeof value === 'number' && typeof expected === 'number') || (typeof value === 'string' && typeof expected === 'string');
      if (!comparable) return false;
      return op === 'gt' ? (value as number | string) > (expected as number | string) : (value as number | string) < (expected as number | string);
    }
    default: {
      const unreachable: never = op;
      throw new Error(`unknown op ${String(unreachable)}`);
    }
  }
}

const USER_COLUMNS = { 'user.locale': 'locale', 'user.timezone': 'timezone', 'user.email': 'email', 'user.phone': 'phone' } as const;

/** A field condition: `data.x` from the run's data, `user.x` from the users table as it is now. */
export async function fieldHolds(db: Queryable, run: { appId: string; userId: string; data: unknown }, condition: FieldCondition): Promise<boolean> {
  let value: unknown;
  if (condition.field.startsWith('data.')) {
    value = valueAt(run.data, condition.field.slice('data.'.length));
  } else {
    const column = USER_COLUMNS[condition.field as keyof typeof USER_COLUMNS];
    const { rows } = await db.query<{ value: string | null }>(`SELECT ${column} AS value FROM users WHERE app_id = $1 AND id = $2`, [run.appId, run.userId]);
    value = rows[0]?.value ?? undefined;
  }
  return compare(value, condition.op, condition.value);
}

/**
 * A step condition on the notifications an earlier send step created, as they
 * are now: read = an inbox item of them was read; delivered = a delivery of
 * them was delivered. A step that created none (skipped) was neither.
 */
export async function stepHolds(db: Queryable, notificationIds: string[], condition: StepCondition): Promise<boolean> {
  const read = condition.is === 'read' || condition.is === 'not_read';
  const { rows } = await db.query<{ yes: boolean }>(
    read
      ? 'SELECT EXISTS (SELECT 1 FROM inbox_items WHERE notification_id = ANY($1::uuid[]) AND read_at IS NOT NULL) AS yes'
      : `SELECT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ANY($1::uuid[]) AND status = 'delivered') AS yes`,
    [notificationIds],
  );
  const yes = rows[0]?.yes ?? false;
  return condition.is === 'read' || condition.is === 'delivered' ? yes : !yes;
}
