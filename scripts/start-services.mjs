// Where `npm start` finds PostgreSQL and Redis: the URL you set, else the
// local default if something answers there, else a Docker container started
// through testcontainers (data in a named volume), else a clear stop.
import { connect } from 'node:net';

export const DEFAULTS = {
  database: 'postgresql://postgres@127.0.0.1:5432/notify',
  redis: 'redis://127.0.0.1:6379',
};

/** Named volumes, so a second `npm start` finds the first one's data. */
export const VOLUMES = { database: 'notify-postgres', redis: 'notify-redis' };

const NAMES = { database: 'PostgreSQL', redis: 'Redis' };
const VARIABLES = { database: 'DATABASE_URL', redis: 'REDIS_URL' };

/** Whether something accepts TCP connections at the URL's host and port. */
export function probe(url, timeoutMs = 1000) {
  const { hostname, port, protocol } = new URL(url);
  const defaultPort = protocol.startsWith('redis') ? 6379 : 5432;
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether testcontainers finds a container runtime (fails in about a second without one). */
export async function dockerAvailable() {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    // No engine, or testcontainers not installed (a production install without devDependencies).
    return false;
  }
}

/**
 * The decision, with its inputs passed in so it can be tested without a network:
 * `set` holds DATABASE_URL / REDIS_URL when given, `defaults` where to look otherwise.
 * Returns `{ urls, containers, notes }` or `{ error }`.
 */
export async function planServices({ set, defaults = DEFAULTS, probe: isUp = probe, docker = dockerAvailable }) {
  const kinds = ['database', 'redis'];
  const urls = {};
  const missing = [];
  const notes = [];
  await Promise.all(
    kinds.map(async (kind) => {
      if (set[kind]) urls[kind] = set[kind];
      else if (await isUp(defaults[kind])) urls[kind] = defaults[kind];
      else missing.push(kind);
    }),
  );
  missing.sort((a, b) => kinds.indexOf(a) - kinds.indexOf(b));
  if (missing.length === 0) return { urls, containers: [], notes };
  if (await docker()) {
    for (const kind of missing)
      notes.push(`${NAMES[kind]}: nothing at ${defaults[kind]} and ${VARIABLES[kind]} is not set; starting a Docker container (data in volume ${VOLUMES[kind]})`);
    return { urls, containers: missing, notes };
  }
  const lines = missing.map((kind) => `  ${NAMES[kind]}: ${VARIABLES[kind]} is not set and nothing answers at ${defaults[kind]}`);
  return {
    error: [
      'npm start cannot reach a service it needs, and found no Docker engine to run it in:',
      ...lines,
      'Do one of these:',
      `  - set ${missing.map((k) => VARIABLES[k]).join(' and ')} to servers you run (PostgreSQL 15+, Redis 7 with maxmemory-policy noeviction)`,
      `  - install and start ${missing.map((k) => NAMES[k]).join(' and ')} on this machine (their default ports)`,
      '  - install Docker (or another engine testcontainers can reach): npm start then runs them as containers',
    ].join('\n'),
  };
}

/** Starts the missing services as containers; resolves with their URLs and a stop function. */
export async function startContainers(kinds) {
  const started = [];
  const urls = {};
  try {
    for (const kind of kinds) {
      if (kind === 'database') {
        const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
        const pg = await new PostgreSqlContainer('postgres:16-alpine')
          .withDatabase('notify')
          .withUsername('notify')
          .withPassword('notify')
          .withBindMounts([{ source: VOLUMES.database, target: '/var/lib/postgresql/data' }])
          .start();
        started.push(pg);
        urls.database = pg.getConnectionUri();
      } else {
        const { RedisContainer } = await import('@testcontainers/redis');
        const redis = await new RedisContainer('redis:7-alpine')
          .withCommand(['redis-server', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes'])
          .withBindMounts([{ source: VOLUMES.redis, target: '/data' }])
          .start();
        started.push(redis);
        urls.redis = redis.getConnectionUrl();
      }
    }
  } catch (err) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw err;
  }
  return { urls, stop: () => Promise.allSettled(started.map((c) => c.stop())) };
}
