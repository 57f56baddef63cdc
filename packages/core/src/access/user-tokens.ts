import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { Db } from '../platform/db.js';
import { notFound } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { UserToken } from '../schemas/access.js';

/**
 * User tokens: short-lived JWTs (HS256) a client's backend mints with its API
 * key and hands to its front end, opening only that user's inbox and
 * preferences. Each is signed with its app's own secret (made on the first
 * mint, never shown) and names the key that minted it (`kid`): revoking the
 * key refuses its tokens at once, on every replica (the revocation that drops
 * the key from the caches drops its signer too).
 */
export const USER_TOKEN_AUDIENCE = 'notify:user';

/** What checks a key's tokens. */
export interface TokenSigner {
  appId: string;
  keyId: string;
  /** The key's hash: revocations are announced by hash. */
  keyHash: string;
  secret: Uint8Array;
  /** The app's CORS origins (PUT /app/cors), read along with the secret. */
  origins: string[];
}

const encode = (secret: string) => new TextEncoder().encode(secret);

/** The app's signing secret, made on first use: one statement, so concurrent first mints agree on one. */
async function appTokenSecret(db: Db, appId: string): Promise<string> {
  const { rows } = await db.pool.query<{ secret: string }>({
    text: '/* app_token_secret */ UPDATE apps SET user_token_secret = COALESCE(user_token_secret, $2) WHERE id = $1 RETURNING user_token_secret AS secret',
    values: [appId, randomBytes(32).toString('base64url')],
  });
  if (!rows[0]) throw notFound('App');
  return rows[0].secret;
}

/** A token for `userId`, signed for the app and naming the key that asked. */
export async function mintUserToken(db: Db, m: { appId: string; keyId: string; userId: string; expiresIn: number }): Promise<UserToken> {
  const secret = await appTokenSecret(db, m.appId);
  const now = Math.floor(Date.now() / 1000);
  const exp = now + m.expiresIn;
  const token = await new SignJWT({ app: m.appId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: m.keyId })
    .setSubject(m.userId)
    .setAudience(USER_TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(encode(secret));
  return { token, expires_at: new Date(exp * 1000).toISOString() };
}

/** The key a presented token says minted it, or null for anything that is not a JWT naming one of our key ids. */
export function tokenKeyId(token: string): string | null {
  try {
    const { kid } = decodeProtectedHeader(token);
    return typeof kid === 'string' && isUuid(kid) ? kid : null;
  } catch {
    return null;
  }
}

/** The signer of a key's tokens: null when the key is unknown or revoked, or its app never minted one. */
export async function loadTokenSigner(db: Db, keyId: string): Promise<TokenSigner | null> {
  const { rows } = await db.pool.query<{ app_id: string; hash: string; revoked: boolean; secret: string | null; origins: string[] | null }>({
    text: `/* token_signer */ SELECT k.app_id, k.hash, k.revoked_at IS NOT NULL AS revoked, a.user_token_secret AS secret, a.cors_allowed_origins AS origins
      FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.id = $1`,
    values: [keyId],
  });
  const row = rows[0];
  if (!row || row.revoked || !row.secret) return null;
  return { appId: row.app_id, keyId, keyHash: row.hash, secret: encode(row.secret), origins: row.origins ?? [] };
}

export type TokenCheck = { ok: true; userId: string } | { ok: false; expired: boolean };

/** Checks the signature (HS256 only), `aud`, `exp`, `sub` and that the token is of the signer's app. */
export async function checkUserToken(token: string, signer: TokenSigner): Promise<TokenCheck> {
  try {
    const { payload } = await jwtVerify(token, signer.secret, {
      algorithms: ['HS256'],
      audience: USER_TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (payload.app !== signer.appId || typeof payload.sub !== 'string') return { ok: false, expired: false };
    return { ok: true, userId: payload.sub };
  } catch (err) {
    if (err instanceof errors.JOSEError) return { ok: false, expired: err instanceof errors.JWTExpired };
    throw err;
  }
}
