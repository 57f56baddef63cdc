import type pg from 'pg';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import type { Redis } from '../platform/redis.js';
import { type FrequencyCap, type Pause, type PauseKind, periodMs } from '../schemas/categories.js';
import { DEFAULT_CATEGORIES } from './categories.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

/*
 * Send rules: pauses (an app, a template or a category whose deliveries are
 * held) and per-category frequency caps. Both live in PostgreSQL; workers
 * read them as a whole (SendRules) every second or so, not per delivery.
 */

/** The app-wide pause is stored with this key. */
const APP_KEY = '';

/** Pauses (or resumes) an app, one of its templates or one of its categories; 404 for an unknown template or category. */
export async function setPaused(db: Db, appId: string, kind: PauseKind, key: string | null, paused: boolean, by?: AuditActor): Promise<Pause> {
  const k = kind === 'app' ? APP_KEY : (key ?? APP_KEY);
  if (kind === 'template' && !(await db.prisma.template.findUnique({ where: { appId_key: { appId, key: k } }, select: { id: true } }))) throw notFound('Template');
  if (kind === 'category' && !(k in DEFAULT_CATEGORIES) && !(await db.prisma.category.findUnique({ where: { appId_key: { appId, key: k } }, select: { key: true } }))) {
    throw notFound('Category');
  }
  const id = { appId_kind_key: { appId, kind, key: k } };
  return db.prisma.$transaction(async (tx) => {
    const at = paused ? (await tx.sendPause.upsert({ where: id, create: { appId, kind, key: k }, update: {} })).createdAt : null;
    if (!paused) await tx.sendPause.deleteMany({ where: { appId, kind, key: k } });
    await recordAudit(tx, by, { appId, action: `${kind}.${paused ? 'paused' : 'resumed'}`, targetType: kind, targetId: kind === 'app' ? appId : k });
    return toPause(kind, k, at);
  });
}

/** The app's pauses in effect. */
export async function listPauses(db: Db, appId: string): Promise<Pause[]> {
  const rows = await db.prisma.sendPause.findMany({ where: { appId }, orderBy: [{ kind: 'asc' }, { key: 'asc' }] });
  return rows.map((r) => toPause(r.kind as PauseKind, r.key, r.createdAt));
}

function toPause(kind: PauseKind, key: string, at: Date | null): Pause {
  return { kind, key: kind === 'app' ? null : key, paused: at !== null, paused_at: at?.toISOString() ?? null };
}

/** What a delivery is matched against: its notification's app, user, template and category. */
export interface SendTarget {
  appId: string;
  userId: string;
  templateKey: string | null;
  category: string | null;
}

/** Every app's pauses and caps at one moment, as the workers hold them. */
export class SendRules {
  constructor(
    private readonly pauses: Set<string>,
    private readonly caps: Map<string, FrequencyCap>,
  ) {}

  /** Nothing paused or capped anywhere: the hot path needs no lookup at all. */
  get empty(): boolean {
    return this.pauses.size === 0 && this.caps.size === 0;
  }

  paused(t: SendTarget): boolean {
    return (
      this.pauses.has(ruleKey(t.appId, 'app', APP_KEY)) ||
      (t.templateKey !== null && this.pauses.has(ruleKey(t.appId, 'template', t.templateKey))) ||
      (t.category !== null && this.pauses.has(ruleKey(t.appId, 'category', t.category)))
    );
  }

  cap(t: SendTarget): FrequencyCap | undefined {
    return t.category === null ? undefined : this.caps.get(ruleKey(t.appId, 'category', t.category));
  }
}

const ruleKey = (appId: string, kind: string, key: string) => `${appId}\u0000${kind}\u0000${key}`;

/** Reads every pause and cap (a few rows per app that uses them). */
export async function loadSendRules(pool: pg.Pool): Promise<SendRules> {
  const [pauses, caps] = await Promise.all([
    pool.query<{ app_id: string; kind: string; key: string }>('SELECT app_id, kind, key FROM send_pauses'),
    pool.query<{ app_id: string; key: string; count: number; period: string }>(
      'SELECT app_id, key, frequency_cap_count AS count, frequency_cap_period AS period FROM categories WHERE frequency_cap_count IS NOT NULL AND NOT required',
    ),
  ]);
  return new SendRules(
    new Set(pauses.rows.map((r) => ruleKey(r.app_id, r.kind, r.key))),
    new Map(caps.rows.map((r) => [ruleKey(r.app_id, 'category', r.key), { count: r.count, period: r.period }])),
  );
}

/** A delivery's send target, read from its notification (only when some rule exists). */
export async function loadSendTarget(pool: pg.Pool, notificationId: string): Promise<SendTarget | null> {
  const { rows } = await pool.query<{ app_id: string; user_id: string; template_key: string | null; category: string | null }>(
    'SELECT app_id, user_id, template_key, category FROM notifications WHERE id = $1',
    [notificationId],
  );
  const r = rows[0];
  return r ? { appId: r.app_id, userId: r.user_id, templateKey: r.template_key, category: r.category } : null;
}

/*
 * One set per user, category and window holds the notifications let through.
 * A set rather than a counter: a notification counted once stays allowed, so
 * a retry, a replay or its other channels never spend a second slot. The
 * script is one atomic step, so replicas racing for the last slot agree.
 */
const TAKE_SLOT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Whether this notification fits under the cap in the current window (counting it if so). */
export async function takeCapSlot(redis: Redis, prefix: string, t: SendTarget, notificationId: string, cap: FrequencyCap, now = Date.now()): Promise<boolean> {
  const length = periodMs(cap.period);
  const window = Math.floor(now / length);
  const key = `${prefix}:frequency-cap:${t.appId}:${t.category}:${cap.period}:${window}:${t.userId}`;
  // Kept a minute past its window's end, so a clock a little behind still finds it.
  const ttl = (window + 1) * length - now + 60_000;
  const allowed = await redis.eval(TAKE_SLOT, 1, key, notificationId, String(cap.count), String(ttl));
  return allowed === 1;
}
