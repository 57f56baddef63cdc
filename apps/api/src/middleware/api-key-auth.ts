import { AppError, type Db, type Logger, type Redis } from '@notify/core/platform';
import { KEY_PREFIX, KEY_REVOKED_CHANNEL, checkUserToken, hashKey, loadTokenSigner, lookupKey, tokenKeyId, type KeyIdentity, type TokenSigner } from '@notify/core/access';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { ApiEnv } from '../context.js';
import { clientAddress, throttled, type AuthThrottle } from './auth-throttle.js';
import { CredentialCache } from './credential-cache.js';
import { crossOrigin } from './user-cors.js';
import { userTokenScope } from './user-token-scope.js';

export { MAX_UNKNOWN_KEYS, UNKNOWN_KEY_TTL_MS } from './credential-cache.js';

/**
 * Keys, cached per replica so a request costs no database read (see
 * CredentialCache), and the signers of user tokens by the id of the key that
 * minted them. A revocation or a creation is announced on Redis and drops
 * that hash, and the signer of its key, from every replica's cache at once;
 * after a lost subscription (which may have missed one) everything is dropped.
 */
export class KeyCache {
  private readonly keys = new CredentialCache<KeyIdentity>();
  readonly signers = new CredentialCache<TokenSigner>();

  constructor(
    private readonly db: Db,
    private readonly subscriber: Redis,
    log: Logger,
    /** The database lookups; tests wrap them to count lookups. */
    private readonly lookup: (db: Db, key: string) => Promise<KeyIdentity | null> = lookupKey,
    private readonly signerLookup: (db: Db, keyId: string) => Promise<TokenSigner | null> = loadTokenSigner,
  ) {
    subscriber.on('message', (channel: string, hash: string) => {
      if (channel === KEY_REVOKED_CHANNEL) this.forget(hash);
    });
    subscriber.on('ready', () => {
      this.keys.clear();
      this.signers.clear();
    });
    subscriber.subscribe(KEY_REVOKED_CHANNEL).catch((err: unknown) => log.warn({ err }, 'cannot subscribe to key revocations'));
  }

  /**
   * What this replica knows of a key without asking the database: its
   * identity, null when it cannot work (no `nk_live_` prefix, or recently
   * unknown), undefined when only the database can tell.
   */
  known(key: string): KeyIdentity | null | undefined {
    return key.startsWith(KEY_PREFIX) ? this.keys.known(hashKey(key)) : null;
  }

  /** Runs `attempt` once for all concurrent callers with this key (see CredentialCache.verify). */
  verify(key: string, attempt: () => Promise<KeyIdentity | null>): Promise<KeyIdentity | null> {
    return this.keys.verify(hashKey(key), attempt);
  }

  /** Asks the database, and remembers the answer either way. */
  load(key: string): Promise<KeyIdentity | null> {
    return this.keys.load(hashKey(key), () => this.lookup(this.db, key));
  }

  /** Asks the database for the signer of a key's tokens, and remembers the answer either way. */
  loadSigner(keyId: string): Promise<TokenSigner | null> {
    return this.signers.load(keyId, () => this.signerLookup(this.db, keyId));
  }

  /** Drops what this replica knows of a hash (revoked or created here), and the signer of its key. */
  forget(hash: string): void {
    this.keys.forget(hash);
    this.signers.forgetWhere((s) => s.keyHash === hash);
  }

  /** Drops the signers of an app (its CORS origins changed here). */
  forgetApp(appId: string): void {
    this.signers.forgetWhere((s) => s.appId === appId);
  }

  /** Unknown hashes held now (for tests of the bound). */
  get unknownCount(): number {
    return this.keys.unknownCount;
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
 * Finds a credential's identity through its cache. One this replica has
 * cached passes with no I/O. Any other is counted as a failure of its client
 * address before the database is asked (so concurrent guesses cannot all get
 * through before the count does), and given back if it turns out valid.
 * Requests with a credential whose lookup is already under way wait for it
 * and count nothing: a client's first burst after a restart is one attempt,
 * not fifty.
 */
async function identify<V>(cache: Pick<CredentialCache<V>, 'known' | 'verify'>, id: string, load: () => Promise<V | null>, counter: FailureCounter): Promise<V | null> {
  const known = cache.known(id);
  if (known === null) await counter.fail();
  if (known !== undefined) return known;
  return cache.verify(id, async () => {
    await counter.fail();
    const found = await load();
    if (found) counter.refund();
    return found;
  });
}

interface FailureCounter {
  /** Counts one failure; throws 429 once the address is over its budget. */
  fail(): Promise<void>;
  refund(): void;
}

const challenge = { headers: { 'WWW-Authenticate': 'Bearer' } };
const unauthorized = (message: string) => new AppError('unauthorized', message, undefined, challenge);

/**
 * Every tenant route needs `Authorization: Bearer <credential>`: an API key
 * (it decides the app), or, on the routes a user token opens
 * (user-token-scope.ts), a user token (`?token=` too on the inbox stream).
 * A user token elsewhere, or on another user's routes, is 403; an expired,
 * tampered or unknown one, or one whose key was revoked, is 401 and counted
 * like a wrong key. A valid token from a browser origin its app does not
 * allow (PUT /app/cors) is 403: see user-cors.ts.
 */
export function apiKeyAuth(keys: KeyCache, opts: ApiKeyAuthOptions = {}): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const scope = userTokenScope(c.req.method, c.req.path);
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // Never logged: the access log writes the path, not the query string.
    const credential = match?.[1] ?? (scope?.stream ? c.req.query('token') : undefined);
    if (!credential) throw unauthorized('Send an API key: Authorization: Bearer <key>');
    const address = opts.throttle ? clientAddress(c, opts.trustedProxyHops ?? 0) : '';
    const counter: FailureCounter = {
      fail: async () => {
        const decision = await opts.throttle?.fail(address);
        if (decision && !decision.allowed) throw throttled(decision);
      },
      refund: () => opts.throttle?.refund(address),
    };
    const keyId = credential.startsWith(KEY_PREFIX) ? null : tokenKeyId(credential);
    if (keyId) {
      const signer = await identify(keys.signers, keyId, () => keys.loadSigner(keyId), counter);
      if (!signer) throw unauthorized('The user token is not valid, or the API key that minted it was revoked');
      const check = await checkUserToken(credential, signer);
      if (!check.ok) {
        await counter.fail();
        throw unauthorized(check.expired ? 'The user token has expired: mint a new one' : 'The user token is not valid');
      }
      if (!scope || scope.userId !== check.userId) throw new AppError('forbidden', "A user token opens only its own user's inbox and preferences");
      const origin = crossOrigin(c);
      if (origin && !signer.origins.includes(origin)) throw new AppError('forbidden', "This origin is not among the app's allowed origins (PUT /app/cors)");
      c.set('tokenUser', check.userId);
      return authenticated(c, { appId: signer.appId, keyId: signer.keyId }, next);
    }
    const identity = await identify(keys, credential, () => keys.load(credential), counter);
    if (!identity) throw unauthorized('The API key is unknown or revoked');
    return authenticated(c, identity, next);
  };
}

async function authenticated(c: Context<ApiEnv>, identity: KeyIdentity, next: Next): Promise<void> {
  c.set('appId', identity.appId);
  c.set('keyId', identity.keyId);
  // The request's own child logger (access-log made it): adding a binding is cheaper than another child.
  c.get('log').setBindings({ app_id: identity.appId });
  await next();
}
