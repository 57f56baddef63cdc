import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKey } from '@notify/core/access';
import { freePort, schemaRoleUrl, type TestEnv } from '@notify/core/testing';
import { inject } from 'vitest';

export { freePort };

const root = path.resolve(import.meta.dirname, '../..');

/** A service process started from its build output, with the test's schema, queue prefix and Redis (a cluster in the cluster tier). */
export interface Service {
  child: ChildProcess;
  output(): string;
  /** Sends a signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Every process started, so a test file can stop them all, whatever failed half-way. */
const running = new Set<Service>();

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop('SIGKILL')));
}

/** How long a process may take to come up, in 50 ms polls: 30 s (about a second when idle, ten on a busy 2-core machine). */
const STARTUP_POLLS = 600;

/** Per schema: the URL through PgBouncer as a role whose search_path is that schema (made once per test file). */
const throughPgBouncer = new Map<string, Promise<string>>();

/**
 * The DATABASE_URL a service process gets: the test's PostgreSQL, or in the
 * PgBouncer tier (vitest.pgbouncer.config.ts) that PgBouncer, with the
 * schema set on the role as the README tells deployments to.
 */
function serviceDatabaseUrl(t: TestEnv): Promise<string> {
  const bouncer = inject('pgbouncer');
  if (!bouncer) return Promise.resolve(t.env.DATABASE_URL);
  const schema = t.env.DATABASE_SCHEMA;
  const known = throughPgBouncer.get(schema);
  if (known) return known;
  const url = schemaRoleUrl(bouncer, schema);
  throughPgBouncer.set(schema, url);
  return url;
}

async function start(script: string, args: string[], t: TestEnv, env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: await serviceDatabaseUrl(t),
      DATABASE_SCHEMA: t.env.DATABASE_SCHEMA,
      REDIS_URL: t.env.REDIS_URL,
      REDIS_CLUSTER_NODES: t.env.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(','),
      QUEUE_PREFIX: t.env.QUEUE_PREFIX,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const service: Service = {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  running.add(service);
  child.on('exit', () => running.delete(service));
  return service;
}

export const ADMIN_PASSWORD = 'e2e-admin-password';
export const adminAuthorization = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

export interface ApiService extends Service {
  url: string;
  /** An API key of the test app. */
  key: string;
  /** fetch against the API with the test app's key (JSON body when given an object). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** The API on a free port, unless `env` names one (a restart on the same address). */
export async function startApi(t: TestEnv, env: Record<string, string> = {}): Promise<ApiService> {
  const port = env.PORT ?? String(await freePort());
  const api = await start('apps/api/dist/main.js', [], t, { PORT: String(port), HOST: '127.0.0.1', ADMIN_PASSWORD, ...env });
  const url = `http://127.0.0.1:${port}`;
  const { key } = await createKey(t.db, t.appId, 'e2e');
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  for (let i = 0; i < STARTUP_POLLS; i++) {
    if (api.child.exitCode !== null) throw new Error(`api exited:\n${api.output()}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { ...api, url, key, call };
    await sleep(50);
  }
  throw new Error(`api did not start:\n${api.output()}`);
}

export interface WorkerService extends Service {
  /** Its /health, /ready and /metrics: `http://127.0.0.1:<WORKER_HTTP_PORT>`. */
  url: string;
}

/** A worker on its own free WORKER_HTTP_PORT (unless `env` names one), so any number run side by side. */
export async function startWorker(t: TestEnv, channels: string[], env: Record<string, string> = {}): Promise<WorkerService> {
  const port = env.WORKER_HTTP_PORT ?? String(await freePort());
  const worker = await start('apps/worker/dist/main.js', ['--channel', channels.join(',')], t, { HOST: '127.0.0.1', WORKER_HTTP_PORT: port, ...env });
  for (let i = 0; i < STARTUP_POLLS; i++) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
    if (worker.output().includes('worker started')) return { ...worker, url: `http://127.0.0.1:${port}` };
    await sleep(50);
  }
  throw new Error(`worker did not start:\n${worker.output()}`);
}
