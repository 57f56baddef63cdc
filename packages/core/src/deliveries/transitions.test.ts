import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { finishDeliveries } from './store.js';
import { canMove, checkTarget, countsUpdateSql, sourceBucket, sourceIs, target, TRANSITIONS, UNFINISHED, type DeliveryStatus, type TransitionName } from './transitions.js';
import { DeliveryStatus as DeliveryStatusSchema } from '../schemas/notifications.js';

const STATUSES = DeliveryStatusSchema.options;
const root = path.resolve(import.meta.dirname, '../../../..');

/** Every move the code makes today, written out by hand: the table must say exactly this. */
const EXPECTED: Array<[DeliveryStatus, DeliveryStatus]> = [
  // claim (sending -> sending: a worker died mid-send and another takes it over)
  ['queued', 'sending'],
  ['retrying', 'sending'],
  ['sending', 'sending'],
  // finish (from queued or retrying too: the sweeper fails a job BullMQ gave up on, tests finish directly)
  ...(['queued', 'retrying', 'sending'] as const).flatMap((from) => (['delivered', 'failed', 'skipped'] as const).map((to): [DeliveryStatus, DeliveryStatus] => [from, to])),
  // retry
  ['sending', 'retrying'],
  // cancel
  ['queued', 'cancelled'],
  ['retrying', 'cancelled'],
  // replay
  ['failed', 'queued'],
  // quiet
  ['sending', 'queued'],
];

describe('the delivery transition table', () => {
  it('allows exactly the moves the writers make, and no other', () => {
    const allowed = STATUSES.flatMap((from) => STATUSES.filter((to) => canMove(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(EXPECTED.map(([f, t]) => `${f}->${t}`).sort());
  });

  it('refuses forbidden moves', () => {
    expect(canMove('delivered', 'sending')).toBe(false);
    expect(canMove('cancelled', 'queued')).toBe(false);
    expect(canMove('failed', 'sending')).toBe(false);
    expect(canMove('sending', 'cancelled')).toBe(false);
    expect(() => checkTarget('finish', 'queued')).toThrow(/finish cannot move a delivery to queued/);
    expect(() => checkTarget('replay', 'delivered')).toThrow(/replay cannot move/);
    // A caller that forces the type past the compiler is still refused.
    expect(() => target('claim', 'delivered' as 'sending')).toThrow(/claim cannot move/);
  });

  it('refuses a forbidden outcome before sending anything to PostgreSQL', async () => {
    const query = vi.fn();
    const pool = { query } as unknown as pg.Pool;
    const bad = { id: '00000000-0000-0000-0000-000000000001', status: 'queued' as 'failed' };
    await expect(finishDeliveries(pool, [bad])).rejects.toThrow(/finish cannot move a delivery to queued/);
    expect(query).not.toHaveBeenCalled();
  });

  it('leaves delivered, skipped and cancelled for good; a failed delivery only goes back to its queue', () => {
    for (const done of ['delivered', 'skipped', 'cancelled'] as const) {
      expect(STATUSES.filter((to) => canMove(done, to))).toEqual([]);
    }
    expect(STATUSES.filter((to) => canMove('failed', to))).toEqual(['queued']);
  });

  it('gives each transition one source bucket, so its counts move out of one counter', () => {
    const buckets = Object.fromEntries((Object.keys(TRANSITIONS) as TransitionName[]).map((t) => [t, sourceBucket(t)]));
    expect(buckets).toEqual({ claim: 'pending', finish: 'pending', retry: 'pending', cancel: 'pending', replay: 'failed', quiet: 'pending' });
    expect(countsUpdateSql('moved', 'replay')).toContain('failed_count = n.failed_count + d.to_failed - d.moved');
    expect(countsUpdateSql('moved', 'cancel')).toContain('pending_count = n.pending_count + d.to_pending - d.moved');
    expect(countsUpdateSql('moved', 'cancel')).not.toContain('failed_count + d.to_failed - d.moved');
  });

  it('writes the SQL from the table', () => {
    expect(sourceIs('claim', 'd.status', { asText: true })).toBe("d.status::text IN ('queued', 'retrying', 'sending')");
    expect(sourceIs('retry')).toBe("status = 'sending'");
    expect(sourceIs('cancel')).toBe("status IN ('queued', 'retrying')");
    expect(target('replay', 'queued')).toBe("'queued'");
  });

  it("matches the sweeper's partial index: the unfinished statuses as the schema declares them", () => {
    const schema = readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8');
    // Written as PostgreSQL reports it (status IN (...) comes back as = ANY (ARRAY[...])), so db:diff sees no drift.
    const array = UNFINISHED.map((s) => `'${s}'::delivery_status`).join(', ');
    expect(schema).toContain(`where: raw("status = ANY (ARRAY[${array}])")`);
  });
});

/** Source files (no tests, nothing generated) under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return ['generated', 'node_modules', 'dist'].includes(e.name) ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('every writer of delivery status', () => {
  const files = [path.join(root, 'packages/core/src'), path.join(root, 'apps')].flatMap((d) => sources(d).filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`)));
  // Each UPDATE of deliveries that sets status, with the status it writes.
  const updates = files.flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/UPDATE deliveries\b[^\n]*?SET\s+status\s*=\s*(\$\{target\('\w+', '\w+'\)\}|[^,\n]+)/g)].map((m) => ({
      file: path.relative(root, f),
      to: m[1]!.trim(),
    })),
  );

  it('finds the writers: claim, finish, retry, the quiet-hours hold, cancel (one notification or a batch) and replay', () => {
    expect(updates.map((u) => u.file).sort()).toEqual(
      [
        'packages/core/src/deliveries/deliveries.ts',
        'packages/core/src/deliveries/store.ts',
        'packages/core/src/deliveries/store.ts',
        'packages/core/src/deliveries/store.ts',
        'packages/core/src/deliveries/store.ts',
        'packages/core/src/notifications/batch-cancel.ts',
        'packages/core/src/notifications/notifications.ts',
      ].sort(),
    );
  });

  it('takes its target status from the table, never a literal', () => {
    for (const u of updates) {
      expect(u.to, u.file).toMatch(/^\$\{target\('\w+', '\w+'\)\}$|^o\.status$/);
    }
  });
});
