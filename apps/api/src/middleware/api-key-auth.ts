import { AppError, KEY_REVOKED_CHANNEL, hashKey, lookupKey, type Db, type KeyIdentity, type Logger, type Redis } from '@notify/core';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * Known keys, cached per replica so a request costs no database read. A
 * revocation is announced on Redis and drops the key from every replica's
 * cache at once; after a lost subscription (which may have missed one) the
 * whole cache is dropped. Unknown keys are not cached.
 */
export class KeyCache {
  private readonly entries = new Map<string, KeyIdentity & { expires: number }>();

  constructor(
    private readonly db: Db,
    private readonly subscriber: Redis,
    log: Logger,
  ) {
    subscriber.on('message', (channel: string, hash: string) => {
      if (channel === KEY_REVOKED_CHANNEL) this.entries.delete(hash);
    });
    subscriber.on('ready', () => this.entries.clear());
    subscriber.subscribe(KEY_REVOKED_CHANNEL).catch((err: unknown) => log.warn({ err }, 'cannot subscribe to key revocations'));
  }

  async identify(key: string): Promise<KeyIdentity | null> {
    const hash = hashKey(key);
    const hit = this.entries.get(hash);
    if (hit && hit.expires > Date.now()) return hit;
    const found = await lookupKey(this.db, key);
    if (found) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(hash, { ...found, expires: Date.now() + TTL_MS });
    } else {
      this.entries.delete(hash);
    }
    return found;
  }

  /** Drops a key here at once (the replica that revoked it), by its hash. */
  forget(hash: string): void {
    this.entries.delete(hash);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

/** Every tenant route needs `Authorization: Bearer <key>`; the key decides the app. */
export function apiKeyAuth(keys: KeyCache): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const challenge = { headers: { 'WWW-Authenticate': 'Bearer' } };
    if (!match) throw new AppError('unauthorized', 'Send an API key: Authorization: Bearer <key>', undefined, challenge);
    const identity = await keys.identify(match[1]!);
    if (!identity) throw new AppError('unauthorized', 'The API key is unknown or revoked', undefined, challenge);
    c.set('appId', identity.appId);
    c.set('keyId', identity.keyId);
    // The request's own child logger (access-log made it): adding a binding is cheaper than another child.
    c.get('log').setBindings({ app_id: identity.appId });
    await next();
  };
}
