import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Db } from '../platform/db.js';
import type { Env } from '../platform/env.js';
import { notFound } from '../platform/errors.js';
import { setPreferences } from './preferences.js';

/**
 * One-click unsubscribe (RFC 8058): each email of a category the user may
 * opt out of carries a link signed for its user and category. The token is
 * the app, user and category in base64url JSON and an HMAC-SHA256 of it with
 * UNSUBSCRIBE_SECRET; it does not expire (a mail is unsubscribed from long
 * after it arrives), and rotating the secret voids every link sent before.
 */
export interface UnsubscribeSettings {
  /** Base of the links: PUBLIC_URL. */
  publicUrl: string;
  secret: string;
  /** An address for unsubscribe requests by mail; none: the header has the link only. */
  mailto: string | undefined;
}

export const UNSUBSCRIBE_PATH = '/unsubscribe';

/** The settings from the environment; undefined (emails carry no List-Unsubscribe) without a secret or a public URL. */
export function unsubscribeSettings(env: Pick<Env, 'PUBLIC_URL' | 'UNSUBSCRIBE_SECRET' | 'UNSUBSCRIBE_MAILTO'>): UnsubscribeSettings | undefined {
  if (!env.UNSUBSCRIBE_SECRET || !env.PUBLIC_URL) return undefined;
  return { publicUrl: env.PUBLIC_URL.replace(/\/+$/, ''), secret: env.UNSUBSCRIBE_SECRET, mailto: env.UNSUBSCRIBE_MAILTO || undefined };
}

export interface UnsubscribeTarget {
  appId: string;
  userId: string;
  /** The notification's category; null: email as a whole (a notification without one). */
  category: string | null;
}

const sign = (secret: string, payload: string) => createHmac('sha256', secret).update(`unsubscribe.v1.${payload}`).digest('base64url');

export function unsubscribeToken(secret: string, t: UnsubscribeTarget): string {
  const payload = Buffer.from(JSON.stringify({ a: t.appId, u: t.userId, c: t.category })).toString('base64url');
  return `${payload}.${sign(secret, payload)}`;
}

/** The target of a token this secret signed; null for anything else (tampered, another secret, malformed). */
export function readUnsubscribeToken(secret: string, token: string): UnsubscribeTarget | null {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) return null;
  const expected = Buffer.from(sign(secret, payload));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const t: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof t !== 'object' || t === null || !('a' in t) || !('u' in t) || !('c' in t)) return null;
    const { a, u, c } = t;
    if (typeof a !== 'string' || typeof u !== 'string' || (c !== null && typeof c !== 'string')) return null;
    return { appId: a, userId: u, category: c };
  } catch {
    return null;
  }
}

/** List-Unsubscribe (the HTTPS link, then the mailto when set) and List-Unsubscribe-Post for one user and category. */
export function unsubscribeHeaders(s: UnsubscribeSettings, t: UnsubscribeTarget): Record<string, string> {
  const token = unsubscribeToken(s.secret, t);
  const links = [`<${s.publicUrl}${UNSUBSCRIBE_PATH}/${token}>`];
  if (s.mailto) links.push(`<mailto:${s.mailto}?subject=${encodeURIComponent(`unsubscribe ${token}`)}>`);
  return { 'List-Unsubscribe': links.join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

/** The target of a token, or a 404 (nothing tells a tampered token from an unknown one). */
export function unsubscribeTarget(secret: string | undefined, token: string): UnsubscribeTarget {
  const target = secret ? readUnsubscribeToken(secret, token) : null;
  if (!target) throw notFound('Unsubscribe link');
  return target;
}

/**
 * Opts the token's user out of email for its category (or of email, for a
 * notification without one), as the user's own change: idempotent, audited
 * with the user as the actor.
 */
export async function unsubscribeByLink(db: Db, secret: string | undefined, token: string, requestId: string | null): Promise<UnsubscribeTarget> {
  const target = unsubscribeTarget(secret, token);
  const off = { email: false };
  const body = target.category === null ? { channels: off } : { categories: { [target.category]: off } };
  await setPreferences(db, target.appId, target.userId, body, { type: 'user', id: target.userId, requestId });
  return target;
}
