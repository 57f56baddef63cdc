import { randomUUID } from 'node:crypto';
import { AppError, STREAM_LIMITS, type Logger, type Redis } from '@notify/core/platform';
import { inboxChannel, type InboxEvent } from '@notify/core/inbox';

type Listener = (event: InboxEvent) => void;

interface Channel {
  listeners: Set<Listener>;
  /** The SUBSCRIBE sent when the first listener came; later ones wait for it too. */
  subscribed: Promise<unknown>;
}

export interface StreamLimits {
  /** Open streams of one app, across every replica. */
  perApp: number;
  /** Open streams of one user of an app, across every replica. */
  perUser: number;
}

/** A stream's place under the caps: renewed while it lives, released when it ends. */
export interface StreamLease {
  renew(): Promise<void>;
  release(): Promise<void>;
}

/**
 * A lease outlives its stream by at most this long when the replica holding
 * it dies without releasing it; a live stream renews it at every keepalive.
 */
const LEASE_MS = 60_000;
/** When a cap is reached, when to try again: streams end and free places all the time. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Open streams live in two sorted sets per app (one for the app, one per
 * user), scored by lease expiry; one hash tag per app keeps both in one slot
 * on Redis Cluster. Expired leases (a crashed replica's) are dropped before
 * counting, so the count heals itself.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if ARGV[5] == 'admit' then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 2 end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 0
`;

/** Where the leases of an app's streams are counted (exported for tests). */
export function streamLeaseKeys(prefix: string, appId: string, userId: string): [app: string, user: string] {
  return [`${prefix}:streams:{${appId}}`, `${prefix}:streams:{${appId}}:${userId}`];
}

/**
 * Fans new inbox items out to this replica's live streams. Workers publish
 * each new item on Redis (`<QUEUE_PREFIX>:inbox:<app>:<user>`); every API replica
 * subscribes, on one connection, to the channels of the users it has streams
 * for, so a stream receives items wherever it is connected. A channel is
 * unsubscribed as soon as its last listener stops.
 */
export class InboxHub {
  private readonly channels = new Map<string, Channel>();
  private readonly open = new Set<() => void>();

  constructor(
    private readonly subscriber: Redis,
    private readonly log: Logger,
    /** QUEUE_PREFIX: the deployment's channels and stream leases. */
    private readonly prefix: string,
    readonly limits: StreamLimits = STREAM_LIMITS,
  ) {
    subscriber.on('message', (name: string, payload: string) => {
      const channel = this.channels.get(name);
      if (!channel) return;
      let event: InboxEvent;
      try {
        event = JSON.parse(payload) as InboxEvent;
      } catch (err) {
        this.log.warn({ err }, 'ignoring a malformed inbox event');
        return;
      }
      for (const listener of channel.listeners) listener(event);
    });
  }

  /**
   * Takes a place for one more stream of the user, or throws 429 when the app
   * or the user already has as many open as allowed.
   */
  async admit(redis: Redis, appId: string, userId: string): Promise<StreamLease> {
    const keys = streamLeaseKeys(this.prefix, appId, userId);
    const id = randomUUID();
    const run = (mode: 'admit' | 'renew') => redis.eval(ADMIT, 2, ...keys, id, LEASE_MS, this.limits.perApp, this.limits.perUser, mode) as Promise<number>;
    const refused = await run('admit');
    if (refused !== 0) {
      const [cap, whose] = refused === 1 ? [this.limits.perApp, 'this app'] : [this.limits.perUser, 'this user'];
      throw new AppError('rate_limited', `${cap} inbox streams are already open for ${whose}; close one first`, undefined, {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      });
    }
    let released = false;
    return {
      renew: async () => {
        if (released) return;
        await run('renew').catch((err: unknown) => this.log.warn({ err }, 'cannot renew an inbox stream lease'));
      },
      release: async () => {
        if (released) return;
        released = true;
        await redis
          .multi()
          .zrem(keys[0], id)
          .zrem(keys[1], id)
          .exec()
          .catch((err: unknown) => this.log.warn({ err }, 'cannot release an inbox stream lease; it expires on its own'));
      },
    };
  }

  /**
   * Calls `listener` for each new item of the user until the returned
   * function is called (calling it again does nothing). Resolves once the
   * subscription is in place, so nothing published after is missed.
   */
  async listen(appId: string, userId: string, listener: Listener): Promise<() => Promise<void>> {
    const name = inboxChannel(this.prefix, appId, userId);
    let channel = this.channels.get(name);
    if (!channel) {
      channel = { listeners: new Set(), subscribed: this.subscriber.subscribe(name) };
      this.channels.set(name, channel);
    }
    const joined = channel;
    joined.listeners.add(listener);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0 && this.channels.get(name) === joined) {
        this.channels.delete(name);
        await this.subscriber.unsubscribe(name).catch((err: unknown) => this.log.warn({ err }, 'cannot unsubscribe an inbox channel'));
      }
    };
    try {
      await joined.subscribed;
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  }

  /** How many channels this replica listens to (for tests and metrics). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Registers a stream's closer so shutdown can end it (open streams would hold the server open). */
  track(close: () => void): () => void {
    this.open.add(close);
    return () => this.open.delete(close);
  }

  /** Ends every open stream (clients reconnect to another replica) and the subscription. */
  async close(): Promise<void> {
    for (const close of [...this.open]) close();
    this.open.clear();
    this.channels.clear();
    this.subscriber.disconnect();
  }
}
