import { AppError, type Db, type Logger, type Redis } from '@notify/core/platform';
import { KEY_PREFIX, KEY_REVOKED_CHANNEL, hashKey, lookupKey, type KeyIdentity } from '@notify/core/access';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../context.js';
import { clientAddress, throttled, type AuthThrottle } from './auth-throttle.js';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
/** How long a hash the database did not know is answered 401 without asking again. */
export const UNKNOWN_KEY_TTL_MS = 15_000;
/** Unknown hashes remembered at most; past it the oldest go (a flood of random keys cannot grow memory). */
export const MAX_UNKNOWN_KEYS = 10_000;

/**
 * Keys, cached per replica so a request costs no database read: known ones
 * for a minute, unknown ones for 15 s (random keys then cost nothing after
 * their first try). A revocation or a creation is announced on Redis and
 * drops that hash from every replica's cache at once; after a lost
 * subscription (which may have missed one) the whole cache is dropped.
 */
export class KeyCache {
  private readonly entries = new Map<string, KeyIdentity & { expires: number }>();
  private readonly unknown = new Map<string, number>();
  /** Lookups under way, by hash: concurrent requests with one key share one lookup. */
  private readonly loading = new Map<string, Promise<KeyIdentity | null>>();

  constructor(
    private readonly db: Db,
    private readonly subscriber: Redis,
    log: Logger,
    /** The database lookup; tests wrap it to count lookups. */
    private readonly lookup: (db: Db, key: string) => Promise<KeyIdentity | null> = lookupKey,
  ) {
    subscriber.on('message', (channel: string, hash: string) => {
      if (channel === KEY_REVOKED_CHANNEL) this.forget(hash);
    });
    subscriber.on('ready', () => {
      this.entries.clear();
      this.unknown.clear();
    });
    subscriber.subscribe(KEY_REVOKED_CHANNEL).catch((err: unknown) => log.warn({ err }, 'cannot subscribe to key revocations'));
  }

  /**
   * What this replica knows of a key without asking the database: its
   * identity, null when it cannot work (no `nk_live_` prefix, or recently
   * unknown), undefined when only the database can tell.
   */
  known(key: string): KeyIdentity | null | undefined {
    if (!key.startsWith(KEY_PREFIX)) return null;
    const hash = hashKey(key);
    const hit = this.entries.get(hash);
    if (hit && hit.expires > Date.now()) return { appId: hit.appId, keyId: hit.keyId };
    const unknownUntil = this.unknown.get(hash);
    if (unknownUntil !== undefined) {
      if (unknownUntil > Date.now()) return null;
      this.unknown.delete(hash);
    }
    return undefined;
  }

  /**
   * Runs `attempt` (count the try, ask the database) once for all concurrent
   * callers with this key: registered before its first await, so a burst of
   * one key is one attempt whatever the timing.
   */
  verify(key: string, attempt: () => Promise<KeyIdentity | null>): Promise<KeyIdentity | null> {
    const hash = hashKey(key);
    let pending = this.loading.get(hash);
    if (!pending) {
      pending = attempt().finally(() => this.loading.delete(hash));
      this.loading.set(hash, pending);
    }
    return pending;
  }

  /** Asks the database, and remembers the answer either way. */
  async load(key: string): Promise<KeyIdentity | null> {
    const hash = hashKey(key);
    const found = await this.lookup(this.db, key);
    if (found) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(hash, { ...found, expires: Date.now() + TTL_MS });
      this.unknown.delete(hash);
    } else {
      this.entries.delete(hash);
      // Same TTL for all, so insertion order is expiry order: the first entry is the one to drop.
      if (this.unknown.size >= MAX_UNKNOWN_KEYS) this.unknown.delete(this.unknown.keys().next().value!);
      this.unknown.set(hash, Date.now() + UNKNOWN_KEY_TTL_MS);
    }
    return found;
  }

  /** Drops what this replica knows of a hash (revoked or created here). */
  forget(hash: string): void {
    this.entries.delete(hash);
    this.unknown.delete(hash);
  }

  /** Unknown hashes held now (for tests of the bound). */
  get unknownCount(): number {
    return this.unknown.size;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

export interface ApiKeyAuthOptions {
  /** Counts failed keys per client address; over it, 429 before any database lookup. */
  throttle?: AuthThrottle;
  /** TRUST_PROXY_HOPS: see clientAddress. */
  trustedProxyHops?: number;
}

/**
 * Every tenant route needs `Authorization: Bearer <key>`; the key decides the
 * app. A key this replica has cached passes with no I/O. Any other presented
 * key is counted as a failure of its client address before the database is
 * asked (so concurrent guesses cannot all get through before the count
 * does), and given back if it turns out valid. Requests with a key whose
 * lookup is already under way wait for it and count nothing: a client's first
 * burst after a restart is one attempt, not fifty.
 */
export function apiKeyAuth(keys: KeyCache, opts: ApiKeyAuthOptions = {}): MiddlewareHandler<ApiEnv> {
  const challenge = { headers: { 'WWW-Authenticate': 'Bearer' } };
  const refused = () => new AppError('unauthorized', 'The API key is unknown or revoked', undefined, challenge);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthorized', 'Send an API key: Authorization: Bearer <key>', undefined, challenge);
    const key = match[1]!;
    let identity = keys.known(key);
    if (!identity) {
      const address = opts.throttle ? clientAddress(c, opts.trustedProxyHops ?? 0) : '';
      const counted = async () => {
        const decision = await opts.throttle?.fail(address);
        if (decision && !decision.allowed) throw throttled(decision);
      };
      if (identity === null) {
        await counted();
        throw refused();
      }
      identity = await keys.verify(key, async () => {
        await counted();
        const found = await keys.load(key);
        if (found) opts.throttle?.refund(address);
        return found;
      });
      if (!identity) throw refused();
    }
    c.set('appId', identity.appId);
    c.set('keyId', identity.keyId);
    // The request's own child logger (access-log made it): adding a binding is cheaper than another child.
    c.get('log').setBindings({ app_id: identity.appId });
    await next();
  };
}
