import type { AuditEventInput } from '@notify/core/access';
import type { Context } from 'hono';
import type { ApiEnv } from './context.js';

/**
 * An audit event for a change made with an API key: the actor is the key and
 * the request's id, read from the request context, so a call site names only
 * what changed: `recordAudit(db.pool, byKey(c, 'key.revoked', 'key', id))`.
 */
export function byKey(c: Context<ApiEnv>, action: string, targetType: string, targetId: string, summary?: Record<string, unknown>): AuditEventInput {
  return { appId: c.get('appId'), actorType: 'key', actorId: c.get('keyId'), requestId: c.get('requestId'), action, targetType, targetId, ...(summary ? { summary } : {}) };
}
