import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './bench-env.js';
import { waitUntilFinished } from './delivery-stats.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The channel every figure goes through: in-app needs no contact, so any user id is deliverable. */
export const BENCH_CHANNEL = 'in_app';

/** Log lines at warn and above, counted per level, with the first few messages as evidence. */
export interface LogSummary {
  warn: number;
  error: number;
  fatal: number;
  samples: string[];
}

/** A service process started from its build output (apps/<name>/dist/main.js of this checkout or of a baseline tree), as in production. */
export interface ServiceProcess {
  name: 'api' | 'worker';
  pid: number;
  alive(): boolean;
  /** Counts since the process started; subtract two readings for an interval. */
  logs(): LogSummary;
  /** How it ended and the end of its output, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

export interface Deployment {
  api: ServiceProcess;
  /** The first worker process; the one the sections' CPU and log figures name. */
  worker: ServiceProcess;
  /** Every worker process: `worker` first, then those scaleWorkers() added. */
  workers(): ServiceProcess[];
  /**
   * Starts or stops added worker processes of the bench channel until `count`
   * run, each with its own WORKER_HTTP_PORT; resolves once every new one's
   * /ready answers 200.
   */
  scaleWorkers(count: number): Promise<void>;
  url: string;
  /** Basic credentials for /metrics and Bull Board. */
  adminAuthorization: string;
  /** The environment both processes run with (secrets left out), for the report. */
  settings: Record<string, string>;
  /** Throws, with the process's last output, when the API or a worker has died. */
  assertAlive(): void;
  stop(): Promise<void>;
}

/**
 * The production shape on one machine: the built API and ONE worker process
 * serving the bench channel, both with warn-level logs, the console provider
 * (it only logs, at debug) and the per-key rate limit lifted so the limiter
 * never refuses the load (it still runs, as in production).
 */
export async function startDeployment(b: BenchEnv, extraEnv: Record<string, string>, profileDir?: string, codeRoot = root): Promise<Deployment> {
  const port = await freePort();
  const adminPassword = randomBytes(12).toString('hex');
  const settings: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    IN_APP_PROVIDERS: 'console',
    RATE_LIMIT_PER_SECOND: '1000000000',
    ...extraEnv,
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: b.databaseUrl,
    DATABASE_SCHEMA: b.schema,
    REDIS_URL: b.redisUrl,
    QUEUE_PREFIX: b.prefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_PASSWORD: adminPassword,
    ...settings,
  };
  // Node refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line.
  const nodeFlags = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const api = startProcess('api', codeRoot, 'apps/api/dist/main.js', [], env, nodeFlags);
  // Every worker serves /health, /ready and /metrics on a port of its own (a second one on 3001 would refuse to start).
  const startWorker = async () => {
    const httpPort = await freePort();
    const child = startProcess('worker', codeRoot, 'apps/worker/dist/main.js', ['--channel', BENCH_CHANNEL], { ...env, WORKER_HTTP_PORT: String(httpPort) }, nodeFlags);
    return { child, readyUrl: `http://127.0.0.1:${httpPort}/ready` };
  };
  const worker = (await startWorker()).child;
  const added: ServiceProcess[] = [];
  const url = `http://127.0.0.1:${port}`;
  const deployment: Deployment = {
    api,
    worker,
    workers: () => [worker, ...added],
    async scaleWorkers(count) {
      const started = await Promise.all(Array.from({ length: Math.max(0, count - 1 - added.length) }, startWorker));
      added.push(...started.map((s) => s.child));
      await Promise.all(started.map((s) => waitForReady(s.child, s.readyUrl)));
      while (1 + added.length > Math.max(1, count)) await added.pop()?.stop();
    },
    url,
    adminAuthorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`,
    settings,
    assertAlive() {
      for (const p of [api, worker, ...added]) if (!p.alive()) throw new Error(`the ${p.name} process (pid ${p.pid}) exited: ${p.tail()}`);
    },
    async stop() {
      // Workers first: they finish in-flight jobs while the API still answers.
      await Promise.all([worker, ...added].map((w) => w.stop()));
      await api.stop();
    },
  };
  try {
    await waitForHealth(deployment);
    await probeDelivery(b, deployment);
  } catch (err) {
    await deployment.stop();
    throw err;
  }
  return deployment;
}

async function waitForHealth(d: Deployment): Promise<void> {
  if (!(await answersOk(`${d.url}/health`, 30_000, () => d.assertAlive()))) throw new Error(`the API did not answer /health within 30 s:\n${d.api.tail()}`);
}

/** An added worker is ready when its own /ready says so (a probe delivery could be taken by any worker). */
async function waitForReady(p: ServiceProcess, readyUrl: string): Promise<void> {
  const alive = () => {
    if (!p.alive()) throw new Error(`the worker process (pid ${p.pid}) exited: ${p.tail()}`);
  };
  if (!(await answersOk(readyUrl, 60_000, alive))) throw new Error(`the added worker did not answer ${readyUrl} with 200 within 60 s:\n${p.tail()}`);
}

/** Polls `url` until it answers 2xx (true) or `timeoutMs` passes (false); `check` throws to give up early. */
async function answersOk(url: string, timeoutMs: number, check: () => void): Promise<boolean> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    check();
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return true;
    await sleep(50);
  }
  return false;
}

/**
 * The worker logs "worker started" at info, which warn-level logging hides;
 * one notification delivered end to end proves both processes are ready.
 */
async function probeDelivery(b: BenchEnv, d: Deployment): Promise<void> {
  const { appId, key } = await b.newApp('probe');
  const res = await fetch(`${d.url}/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'probe', message: 'probe', channels: [BENCH_CHANNEL] }),
  });
  if (res.status !== 202) throw new Error(`probe notification answered ${res.status}: ${await res.text()}\napi ${d.api.tail()}`);
  const finished = await waitUntilFinished(b, appId, 60_000, () => d.assertAlive());
  if (!finished) throw new Error(`the worker did not deliver a probe notification within 60 s:\n${d.worker.tail()}`);
}

function startProcess(name: 'api' | 'worker', codeRoot: string, script: string, args: string[], env: Record<string, string>, nodeFlags: string[]): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, path.join(codeRoot, script), ...args], { cwd: codeRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const summary: LogSummary = { warn: 0, error: 0, fatal: 0, samples: [] };
  let tail = '';
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-16_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) countLine(line, summary);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit');
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid: child.pid ?? -1,
    alive,
    logs: () => ({ ...summary, samples: [...summary.samples] }),
    tail: () => `${alive() ? 'running' : `exit code ${child.exitCode}, signal ${child.signalCode}`}; last output:\n${tail.slice(-4000) || '(none)'}`,
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      // The worker's grace period is 25 s by default; after that it exits on its own.
      const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

const LEVEL = /"level":"(warn|error|fatal)"/;

function countLine(line: string, summary: LogSummary): void {
  const m = LEVEL.exec(line);
  if (!m) {
    // Not a pino line (e.g. a crash trace on stderr): keep it as evidence.
    if (line.trim() && summary.samples.length < 10) summary.samples.push(line.slice(0, 300));
    return;
  }
  const level = m[1] as 'warn' | 'error' | 'fatal';
  summary[level]++;
  if (summary.samples.length < 10) summary.samples.push(line.slice(0, 300));
}

export function logsBetween(before: LogSummary, after: LogSummary): LogSummary {
  return {
    warn: after.warn - before.warn,
    error: after.error - before.error,
    fatal: after.fatal - before.fatal,
    samples: after.samples.slice(before.samples.length),
  };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}
