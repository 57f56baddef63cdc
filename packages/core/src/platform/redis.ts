import { readFileSync } from 'node:fs';
import { Cluster, Redis as Server, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Env } from './env.js';

/** A connection to Redis: one server (`REDIS_URL`) or a Redis Cluster (`REDIS_CLUSTER_NODES`); both take the same commands. */
export type Redis = Server | Cluster;

/** A Redis Cluster to reach: seed nodes (the rest are discovered) and what every node shares. */
export interface ClusterTarget {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** TLS to every node; `ca`: a PEM file to trust beside the system's roots. */
  tls?: { ca?: string };
}
/** Where Redis is: a `redis://` or `rediss://` URL, or a cluster. */
export type RedisTarget = string | ClusterTarget;

/** The one place that decides between single-node Redis and Redis Cluster: REDIS_CLUSTER_NODES, when set, wins. */
export function redisTarget(env: Pick<Env, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_TLS' | 'REDIS_TLS_CA'>): RedisTarget {
  if (env.REDIS_CLUSTER_NODES.length === 0) return env.REDIS_URL;
  return {
    nodes: env.REDIS_CLUSTER_NODES,
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
    ...(env.REDIS_TLS ? { tls: env.REDIS_TLS_CA ? { ca: env.REDIS_TLS_CA } : {} } : {}),
  };
}

const ROLE_OPTIONS: Record<'worker' | 'producer' | 'subscriber', RedisOptions> = {
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableReadyCheck: true },
  // No ready check: SUBSCRIBE may be written while the check is in flight,
  // and the check's INFO then fails in subscriber mode, dropping the
  // connection (and every message published until it reconnects).
  subscriber: { maxRetriesPerRequest: null, enableReadyCheck: false },
};
type Role = keyof typeof ROLE_OPTIONS;

/** Each cluster's seed nodes, for diagnosing one that never becomes ready. */
const seeds = new WeakMap<Cluster, ClusterTarget>();

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`REDIS_TLS_CA: cannot read ${file} (${(err as Error).message})`, { cause: err });
  }
}

/** What every node of a cluster is opened with: the role's options and the cluster's credentials. */
function nodeOptions(target: ClusterTarget, role: Role, extra: RedisOptions): RedisOptions {
  return {
    ...ROLE_OPTIONS[role],
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: target.tls.ca ? { ca: readCa(target.tls.ca) } : {} } : {}),
    ...extra,
  };
}

/**
 * Connections for BullMQ and pub/sub. Workers wait out a Redis outage (no
 * per-command retry limit, as BullMQ requires for blocking commands); the
 * API's producer connection fails fast so a request gets a 503 instead of
 * hanging; subscribers hold channels and resubscribe after a reconnect. On a
 * cluster the same holds: the producer's commands fail rather than wait in
 * the cluster's offline queue, and a subscriber moves to another node when
 * its node goes.
 */
export function createRedis(target: RedisTarget, role: Role, extra: RedisOptions = {}): Redis {
  let redis: Redis;
  if (typeof target === 'string') {
    redis = new Server(target, { ...ROLE_OPTIONS[role], ...extra, lazyConnect: false });
  } else {
    const options: ClusterOptions = {
      redisOptions: nodeOptions(target, role, extra),
      enableOfflineQueue: role !== 'producer',
      enableReadyCheck: role !== 'subscriber',
      // Managed clusters (ElastiCache, MemoryDB) certify their host names: keep them, not the addresses they resolve to.
      ...(target.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    };
    redis = new Cluster(target.nodes, options);
    seeds.set(redis, target);
  }
  // Connection errors are retried by ioredis itself; readiness reports them.
  redis.on('error', () => {});
  return redis;
}

/** Resolves once the connection is ready; rejects after `timeoutMs`, naming what is wrong with a cluster that never became ready. */
export async function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
  if (ready) return;
  const target = redis instanceof Cluster ? seeds.get(redis) : undefined;
  const why = target ? await clusterProblem(target) : undefined;
  throw new Error(`Redis not ready after ${timeoutMs} ms (status: ${redis.status})${why ? `: ${why}` : ''}`);
}

const address = (node: Server) => `${node.options.host}:${node.options.port}`;

/** Asks each seed node directly why the cluster is not ready: nothing answers, no cluster mode, or slots not served. */
async function clusterProblem(target: ClusterTarget): Promise<string> {
  const problems: string[] = [];
  for (const seed of target.nodes) {
    const node = new Server({ ...seed, ...nodeOptions(target, 'producer', {}), lazyConnect: true, retryStrategy: () => null, connectTimeout: 2000 });
    node.on('error', () => {});
    try {
      await node.connect();
      return clusterStateProblem(address(node), await node.cluster('INFO')) ?? `${address(node)} reports the cluster healthy; it may still be forming`;
    } catch (err) {
      const message = (err as Error).message;
      if (/cluster support disabled/i.test(message))
        return `${address(node)} is not in cluster mode (REDIS_CLUSTER_NODES needs cluster-enabled nodes; give a single server as REDIS_URL)`;
      problems.push(`${seed.host}:${seed.port}: ${message}`);
    } finally {
      node.disconnect();
    }
  }
  return `no node of REDIS_CLUSTER_NODES answers (${problems.join('; ')})`;
}

const SLOTS = 16_384;

/** Why a node's CLUSTER INFO says the cluster cannot serve every key, or undefined when it can. */
function clusterStateProblem(node: string, info: unknown): string | undefined {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(String(info))?.[1];
  const state = field('cluster_state');
  const ok = Number(field('cluster_slots_ok'));
  if (state === 'ok' && ok === SLOTS) return undefined;
  return (
    `Redis Cluster node ${node} reports cluster_state:${state ?? 'unknown'} with ${ok} of ${SLOTS} slots served; ` +
    'every slot must be assigned to a reachable master (redis-cli --cluster check / fix)'
  );
}

/** The servers that hold keys: every master of a cluster (as the client last saw them), or the one server. */
export function masters(redis: Redis): Server[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * BullMQ needs Redis never to evict keys: an evicted key is a lost job. On a
 * cluster, every master must also serve its share of the slots. Throws,
 * naming the node and the fix, on the first server that fails either.
 */
export async function assertRedisFit(redis: Redis): Promise<void> {
  const nodes = masters(redis);
  if (nodes.length === 0) throw new Error('Redis Cluster has no reachable master');
  await Promise.all(
    nodes.map(async (node) => {
      const where = redis instanceof Cluster ? `Redis ${address(node)}` : 'Redis';
      if (redis instanceof Cluster) {
        const problem = clusterStateProblem(address(node), await node.cluster('INFO'));
        if (problem) throw new Error(problem);
      }
      const policy = /^maxmemory_policy:(\S+)/m.exec(await node.info('memory'))?.[1];
      if (policy !== 'noeviction') {
        throw new Error(
          `${where} maxmemory-policy is "${policy ?? 'unknown'}"; it must be "noeviction" or Redis may silently drop queued jobs. ` +
            `Set it with \`CONFIG SET maxmemory-policy noeviction\` (and in redis.conf${redis instanceof Cluster ? ', on every master, or in the managed service parameter group' : ''}).`,
        );
      }
    }),
  );
}

/**
 * Deletes every key matching `pattern` (SCAN, never KEYS: the server keeps
 * answering others meanwhile), on every master. One UNLINK per key: keys
 * found together may sit in different cluster slots.
 */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  // The masters as they are now, not as last seen: after a failover the old one is gone.
  if (redis instanceof Cluster) await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      await pipeline.exec();
    } while (cursor !== '0');
  }
}
