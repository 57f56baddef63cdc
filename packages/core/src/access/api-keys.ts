import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import type { Redis } from '../platform/redis.js';
import { recordAudit, type AuditActor } from './audit.js';

/** Live keys start so: easy to spot in code, and for secret scanners. */
export const KEY_PREFIX = 'nk_live_';
/**
 * Redis pub/sub channel telling every API replica to forget what it cached
 * about a key hash: published when a key is revoked (drop the identity) and
 * when one is created (drop an "unknown key" entry). The name predates the
 * second use; it stays so replicas of both versions hear each other.
 */
export const KEY_REVOKED_CHANNEL = 'notify:keys:revoked';

/** A new API key: the prefix and 192 random bits. */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** Keys are long and random, so a fast hash is enough (no dictionary to guard against). */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface CreatedKey {
  id: string;
  app_id: string;
  name: string | null;
  /** The whole key. Shown once: only its hash is stored. */
  key: string;
  prefix: string;
  created_at: string;
}

/** Creates an app (a tenant) by name, or returns the existing one's id. */
export async function ensureApp(db: Db, name: string): Promise<string> {
  const app = await db.prisma.app.upsert({ where: { name }, create: { id: newId(), name }, update: {} });
  return app.id;
}

/**
 * Creates a key, recorded in the audit log as made `by` the actor. With
 * `redis`, every API replica is told to forget the new hash, so one that
 * cached it as unknown (a 15-second negative entry) accepts it at once. Keys
 * are 192 random bits, so such an entry is not expected: this only makes "a
 * new key works at once" hold without relying on that.
 */
export async function createKey(db: Db, appId: string, name: string | null = null, redis?: Redis, by?: AuditActor): Promise<CreatedKey> {
  const key = generateKey();
  const hash = hashKey(key);
  const row = await db.prisma.$transaction(async (tx) => {
    const created = await tx.apiKey.create({ data: { id: newId(), appId, name, prefix: key.slice(0, KEY_PREFIX.length + 4), hash } });
    await recordAudit(tx, by, { appId, action: 'key.created', targetType: 'key', targetId: created.id, summary: { name, prefix: created.prefix } });
    return created;
  });
  // The key exists now: a lost announcement costs at most one negative entry's 15 s, not the creation.
  await redis?.publish(KEY_REVOKED_CHANNEL, hash).catch(() => {});
  return { id: row.id, app_id: appId, name: row.name, key, prefix: row.prefix, created_at: row.createdAt.toISOString() };
}

export async function listKeys(db: Db, appId: string) {
  const rows = await db.prisma.apiKey.findMany({ where: { appId }, orderBy: { createdAt: 'asc' } });
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    created_at: r.createdAt.toISOString(),
    revoked_at: r.revokedAt?.toISOString() ?? null,
  }));
}

/**
 * Revokes a key (of `appId`, when given) at once: the row is marked, with its
 * audit record, and once that commits every API replica is told on Redis to
 * drop it from its cache (told earlier, a replica could cache it again from
 * the row not yet committed).
 */
export async function revokeKey(db: Db, redis: Redis, keyId: string, appId?: string, by?: AuditActor): Promise<string> {
  const hash = await db.prisma.$transaction(async (tx) => {
    const key = isUuid(keyId) ? await tx.apiKey.findFirst({ where: { id: keyId, ...(appId ? { appId } : {}) } }) : null;
    if (!key) throw notFound('API key');
    // Only a live key: of two concurrent revokes, one wins and the other is the 409.
    const { count } = await tx.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: new Date() } });
    if (count === 0) throw new AppError('conflict', 'This key is already revoked');
    await recordAudit(tx, by, { appId: key.appId, action: 'key.revoked', targetType: 'key', targetId: keyId, summary: { name: key.name, prefix: key.prefix } });
    return key.hash;
  });
  await redis.publish(KEY_REVOKED_CHANNEL, hash);
  return hash;
}

export interface KeyIdentity {
  appId: string;
  keyId: string;
}

/** The app and key a presented key belongs to, or null when unknown or revoked. */
export async function lookupKey(db: Db, key: string): Promise<KeyIdentity | null> {
  if (!key.startsWith(KEY_PREFIX)) return null;
  const row = await db.prisma.apiKey.findUnique({ where: { hash: hashKey(key) }, select: { id: true, appId: true, revokedAt: true } });
  return row && !row.revokedAt ? { appId: row.appId, keyId: row.id } : null;
}
