import type { Db } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import type { Category, FrequencyCap, PutCategoryBody } from '../schemas/categories.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

/**
 * Categories every app has until it redefines them: `security` is required
 * (a user cannot opt out of a password-reset or a login alert).
 */
export const DEFAULT_CATEGORIES: Record<string, { description: string; required: boolean }> = {
  security: { description: 'Account security: logins, password resets, verification codes', required: true },
  transactional: { description: 'Messages about something the user did: orders, receipts', required: false },
  marketing: { description: 'Promotions and newsletters', required: false },
};

/** The app's categories: the defaults, overridden and extended by its own. */
export async function listCategories(db: Db, appId: string): Promise<Category[]> {
  const rows = await db.prisma.category.findMany({ where: { appId }, orderBy: { key: 'asc' } });
  const byKey = new Map<string, Category>(
    Object.entries(DEFAULT_CATEGORIES).map(([key, c]) => [key, { key, description: c.description, required: c.required, built_in: true, frequency_cap: null }]),
  );
  for (const r of rows) byKey.set(r.key, toCategory(r));
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Whether a category is required; 422 when the app has no such category. */
export async function categoryRequired(db: Db, appId: string, key: string): Promise<boolean> {
  const row = await db.prisma.category.findUnique({ where: { appId_key: { appId, key } }, select: { required: true } });
  if (row) return row.required;
  const builtIn = DEFAULT_CATEGORIES[key];
  if (builtIn) return builtIn.required;
  const known = (await listCategories(db, appId)).map((c) => c.key);
  throw new AppError('validation_failed', 'The request is not valid', [
    { path: 'category', message: `unknown category; define it with PUT /categories/${key} (known: ${known.join(', ')})` },
  ]);
}

export async function putCategory(db: Db, appId: string, key: string, body: PutCategoryBody, by?: AuditActor): Promise<Category> {
  const cap = body.frequency_cap ?? null;
  // A required category carries what the user must get (a login alert): capping it would drop exactly those.
  if (cap && body.required) {
    throw new AppError('validation_failed', 'The request is not valid', [{ path: 'frequency_cap', message: 'a required category cannot have a frequency cap' }]);
  }
  const data = {
    description: body.description ?? null,
    required: body.required,
    frequencyCapCount: cap?.count ?? null,
    frequencyCapPeriod: cap?.period ?? null,
    updatedAt: new Date(),
  };
  return db.prisma.$transaction(async (tx) => {
    const r = await tx.category.upsert({ where: { appId_key: { appId, key } }, create: { appId, key, ...data }, update: data });
    // The whole new definition (a description, required, the frequency cap): the app's settings, no one's data.
    await recordAudit(tx, by, { appId, action: 'category.updated', targetType: 'category', targetId: key, summary: { ...body } });
    return toCategory(r);
  });
}

function toCategory(r: { key: string; description: string | null; required: boolean; frequencyCapCount: number | null; frequencyCapPeriod: string | null }): Category {
  const cap: FrequencyCap | null = r.frequencyCapCount !== null && r.frequencyCapPeriod !== null ? { count: r.frequencyCapCount, period: r.frequencyCapPeriod } : null;
  return { key: r.key, description: r.description, required: r.required, built_in: r.key in DEFAULT_CATEGORIES, frequency_cap: cap };
}
