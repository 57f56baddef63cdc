import net from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import { AppError, ipv6Groups, type Logger, type Redis } from '@notify/core/platform';
import type { Context } from 'hono';

/** Addresses remembered in memory (blocked ones, and counts while Redis is down); the oldest go first. */
const MAX_ADDRESSES = 10_000;

// INCR and its window's expiry in one round trip; a key left without a TTL (PTTL < 0) is given one.
const COUNT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;
// Never DECR a key that expired meanwhile: that would leave a -1 with no TTL, for good.
const REFUND = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0`;

export interface ThrottleDecision {
  allowed: boolean;
  /** Until the address's window ends (when refused: what Retry-After says). */
  retryAfterMs: number;
}

export interface AuthThrottleOptions {
  /** Failed attempts allowed per address per window (AUTH_FAILURES_PER_MINUTE, default 20). */
  maxFailures: number;
  /** Window length; fixed windows, as the request rate limit (default 60 s). */
  windowMs?: number;
  /** Redis key prefix; an address's count is `${prefix}:${address}`. */
  keyPrefix: string;
}

/** A bounded map whose oldest entry goes when it is full (Map keeps insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_ADDRESSES) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/**
 * Failed authentication per client address, counted in Redis so every API
 * replica shares one budget. Each failure costs one round trip; an address
 * this replica has seen go over costs none until its window ends, so a flood
 * of guesses reaches neither Redis nor the database. While Redis is
 * unreachable each replica counts alone in memory (the same limit, per
 * replica) and says so in the log, rather than refusing everyone or letting
 * every guess through.
 */
export class AuthThrottle {
  private readonly windowMs: number;
  private readonly blocked = new Map<string, number>();
  private readonly local = new Map<string, { count: number; resetAt: number }>();
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly opts: AuthThrottleOptions,
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
  }

  /** Whether this replica already knows the address is over its budget (no I/O). */
  refusal(address: string): ThrottleDecision | null {
    const until = this.blocked.get(address);
    if (until === undefined) return null;
    const left = until - Date.now();
    if (left > 0) return { allowed: false, retryAfterMs: left };
    this.blocked.delete(address);
    return null;
  }

  /** Counts one failed (or not yet verified) attempt; refused once the address is over its budget. */
  async fail(address: string): Promise<ThrottleDecision> {
    const known = this.refusal(address);
    if (known) return known;
    const [count, ttl] = await this.count(address);
    if (count <= this.opts.maxFailures) return { allowed: true, retryAfterMs: ttl };
    remember(this.blocked, address, Date.now() + ttl);
    return { allowed: false, retryAfterMs: ttl };
  }

  /** Gives back an attempt counted before it turned out to be valid (a key this replica had not cached). */
  refund(address: string): void {
    const entry = this.local.get(address);
    if (entry && entry.count > 0) entry.count -= 1;
    this.redis.eval(REFUND, 1, this.key(address)).catch(() => {});
  }

  private key(address: string): string {
    return `${this.opts.keyPrefix}:${address}`;
  }

  private async count(address: string): Promise<[number, number]> {
    try {
      const [count, ttl] = (await this.redis.eval(COUNT, 1, this.key(address), this.windowMs)) as [number, number];
      if (this.degraded) {
        this.degraded = false;
        this.log.info('failed authentication is counted in Redis again');
      }
      return [count, ttl];
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        this.log.warn({ err }, 'Redis unreachable: failed authentication is counted per replica, in memory, until it is back');
      }
      return this.countLocally(address);
    }
  }

  private countLocally(address: string): [number, number] {
    const now = Date.now();
    let entry = this.local.get(address);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.windowMs };
      remember(this.local, address, entry);
    }
    entry.count += 1;
    return [entry.count, entry.resetAt - now];
  }
}

/** The 429 a throttled address gets. */
export function throttled(decision: ThrottleDecision): AppError {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return new AppError('rate_limited', `Too many failed authentication attempts from this address; retry in ${seconds} s`, undefined, {
    headers: { 'Retry-After': String(seconds) },
  });
}

/**
 * The address a throttle counts under. IPv4-mapped IPv6 counts as its IPv4;
 * other IPv6 addresses count by their /64, since one host usually holds a
 * whole /64 and could otherwise rotate through it.
 */
export function throttleBucket(ip: string): string {
  const family = net.isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return 'unknown';
  const g = ipv6Groups(ip);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

/**
 * Who is asking: the socket's remote address, or, behind `trustedProxyHops`
 * proxies of our own (TRUST_PROXY_HOPS), the address the outermost of them
 * saw, which is that many entries from the right of X-Forwarded-For. Entries
 * further left were written by the client and prove nothing. A request with
 * no socket (an in-process `app.request`) counts as `unknown`.
 */
export function clientAddress(c: Context, trustedProxyHops: number): string {
  let socket: string | undefined;
  try {
    socket = getConnInfo(c).remote.address;
  } catch {
    socket = undefined;
  }
  if (trustedProxyHops > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const seen = hops[Math.max(0, hops.length - trustedProxyHops)];
    if (seen && net.isIP(seen)) return throttleBucket(seen);
  }
  return socket ? throttleBucket(socket) : 'unknown';
}
