import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

const ROLE_OPTIONS: Record<'worker' | 'producer' | 'subscriber', RedisOptions> = {
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableReadyCheck: true },
  // No ready check: SUBSCRIBE may be written while the check is in flight,
  // and the check's INFO then fails in subscriber mode, dropping the
  // connection (and every message published until it reconnects).
  subscriber: { maxRetriesPerRequest: null, enableReadyCheck: false },
};

/**
 * Connections for BullMQ and pub/sub. Workers wait out a Redis outage (no
 * per-command retry limit, as BullMQ requires for blocking commands); the
 * API's producer connection fails fast so a request gets a 503 instead of
 * hanging; subscribers hold channels and resubscribe after a reconnect.
 */
export function createRedis(url: string, role: keyof typeof ROLE_OPTIONS, extra: RedisOptions = {}): Redis {
  const options = ROLE_OPTIONS[role];
  const redis = new Redis(url, { ...options, ...extra, lazyConnect: false });
  // Connection errors are retried by ioredis itself; readiness reports them.
  redis.on('error', () => {});
  return redis;
}

/** Resolves once the connection is ready; rejects after `timeoutMs`. */
export async function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms (status: ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/**
 * BullMQ needs Redis never to evict keys: an evicted key is a lost job.
 * Throws, naming the fix, when `maxmemory-policy` is anything but noeviction.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const info = await redis.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy !== 'noeviction') {
    throw new Error(
      `Redis maxmemory-policy is "${policy ?? 'unknown'}"; it must be "noeviction" or Redis may silently drop queued jobs. ` +
        'Set it with `CONFIG SET maxmemory-policy noeviction` (and in redis.conf).',
    );
  }
}

/** Deletes every key matching `pattern` (SCAN, never KEYS: the server keeps answering others meanwhile). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
