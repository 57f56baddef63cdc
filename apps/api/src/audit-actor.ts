import type { AuditActor } from '@notify/core/access';
import type { Context } from 'hono';
import type { ApiEnv } from './context.js';

/**
 * The actor of a change made with an API key: the key and the request's id,
 * read from the request context; with a user token, that user. Routes pass
 * it to the core function that makes the change, which records it in the
 * change's own transaction.
 */
export function keyActor(c: Context<ApiEnv>): AuditActor {
  const user = c.get('tokenUser');
  return user === undefined ? { type: 'key', id: c.get('keyId'), requestId: c.get('requestId') } : { type: 'user', id: user, requestId: c.get('requestId') };
}

/** The actor of a change made with the admin credentials (the dashboard, /admin): the admin user name. */
export function adminActor(c: Context<ApiEnv>, admin: { user: string } | undefined): AuditActor {
  return { type: 'admin', id: admin?.user ?? 'admin', requestId: c.get('requestId') };
}
