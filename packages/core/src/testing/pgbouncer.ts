import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { closeDb, createDb, type Db } from '../platform/db.js';
import { freePort } from './free-port.js';
import type { PgBouncerInfo } from './provided.js';
import type { TestEnv } from './test-env.js';

/** Where Debian's package puts it (`.ci/run` installs it). */
const PGBOUNCER = '/usr/sbin/pgbouncer';

/** A PgBouncer in transaction pooling mode in front of the test's PostgreSQL, as large deployments run. */
export interface PgBouncer extends PgBouncerInfo {
  /** Drops the roles of this run and stops PgBouncer. */
  stop(): Promise<void>;
}

/**
 * The settings that matter here:
 * - `pool_mode = transaction`, `default_pool_size` small: clients really share
 *   server connections;
 * - `server_reset_query_always = 1` (DISCARD ALL after every transaction):
 *   anything a client left on a server connection (a session advisory lock, a
 *   named prepared statement, a plain SET, LISTEN, a temp table) is gone before
 *   its next transaction, so code that relies on session state fails every
 *   time instead of now and then;
 * - `ignore_startup_parameters = options`: the `-c search_path` the service
 *   sends for a schema other than public is dropped (PgBouncer 1.18 cannot
 *   keep it per client); the search_path comes from the role instead;
 * - `auth_user` + auth_query: the roles schemaRoleUrl creates log in without
 *   being listed in the auth file (PostgreSQL trusts 127.0.0.1 here).
 */
function config(port: number, server: URL, dir: string, poolSize: number): string {
  return `[databases]
* = host=${server.hostname} port=${server.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${path.join(dir, 'userlist.txt')}
auth_user = ${decodeURIComponent(server.username)}
admin_users = ${decodeURIComponent(server.username)}
pool_mode = transaction
default_pool_size = ${poolSize}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 2000
server_reset_query = DISCARD ALL
server_reset_query_always = 1
ignore_startup_parameters = options
query_wait_timeout = 60
`;
}

/** Starts PgBouncer on a free port in front of `databaseUrl` (its user must be a superuser, as the tests' is). */
export async function startPgBouncer(databaseUrl: string, opts: { poolSize: number }): Promise<PgBouncer> {
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username);
  const dir = await mkdtemp(path.join(tmpdir(), 'pgbouncer-'));
  const port = await freePort();
  await writeFile(path.join(dir, 'userlist.txt'), `"${user}" ""\n`);
  await writeFile(path.join(dir, 'pgbouncer.ini'), config(port, server, dir, opts.poolSize));
  // PgBouncer refuses to run as root (CI containers): it then drops to `nobody`, who must read the folder.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(dir, 0o755);
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`${PGBOUNCER} did not start (apt-get install pgbouncer): ${err.message}`)));
  });
  await spawned;
  const through = (database: string) => {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${port}`;
    url.pathname = `/${database}`;
    return url.toString();
  };
  const bouncer: PgBouncer = {
    url: through(server.pathname.slice(1)),
    adminUrl: through('pgbouncer'),
    poolSize: opts.poolSize,
    rolePrefix: `pgb_${randomBytes(4).toString('hex')}_`,
    directUrl: databaseUrl,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGINT');
        await exited;
      }
      await dropRoles(databaseUrl, bouncer.rolePrefix);
      await rm(dir, { recursive: true, force: true });
    },
  };
  // Up when the admin console answers (about 20 ms); 10 s on a loaded machine at most.
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited ${child.exitCode}:\n${log}`);
    if (
      await showAdmin(bouncer.adminUrl, 'VERSION').then(
        () => true,
        () => false,
      )
    )
      return bouncer;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`pgbouncer did not answer on port ${port}:\n${log}`);
}

/** One `SHOW ...` of the admin console, as rows (counts come as numbers). */
export async function showAdmin(adminUrl: string, what: 'POOLS' | 'STATS' | 'CLIENTS' | 'SERVERS' | 'VERSION'): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(`SHOW ${what}`)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A URL through PgBouncer as a login role of its own whose search_path is
 * `schema`, set on the server (`ALTER ROLE ... SET search_path`): the way the
 * README tells a deployment with a schema other than public to run behind
 * PgBouncer in transaction mode. Each role is a pool of its own, so test files
 * never share server connections. A superuser, like the tests' own user.
 */
export async function schemaRoleUrl(bouncer: PgBouncerInfo, schema: string): Promise<string> {
  const role = `${bouncer.rolePrefix}${schema}`;
  const admin = new pg.Client({ connectionString: bouncer.directUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE "${role}" LOGIN SUPERUSER`);
    await admin.query(`ALTER ROLE "${role}" SET search_path = "${schema}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(bouncer.url);
  url.username = role;
  return url.toString();
}

async function dropRoles(databaseUrl: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]);
    for (const { rolname } of rows) await admin.query(`DROP ROLE "${rolname}"`);
  } finally {
    await admin.end();
  }
}

/** Service replicas on a test's schema, each with a pool of its own, all through one PgBouncer. */
export interface Replicas {
  bouncer: PgBouncer;
  dbs: Db[];
  close(): Promise<void>;
}

/** `replicas` pools through a PgBouncer in transaction mode that has `serverConnections` server connections for them all. */
export async function replicasBehindPgBouncer(t: TestEnv, o: { replicas: number; serverConnections: number }): Promise<Replicas> {
  const bouncer = await startPgBouncer(t.env.DATABASE_URL, { poolSize: o.serverConnections });
  const url = await schemaRoleUrl(bouncer, t.env.DATABASE_SCHEMA);
  const dbs = Array.from({ length: o.replicas }, () => createDb({ url, schema: t.env.DATABASE_SCHEMA, poolSize: 4 }));
  return {
    bouncer,
    dbs,
    async close() {
      await Promise.all(dbs.map(closeDb));
      await bouncer.stop();
    },
  };
}
