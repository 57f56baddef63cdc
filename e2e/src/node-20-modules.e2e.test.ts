import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker } from './processes.js';

/**
 * `npm ci` warns that @prisma/streams-local wants Node 22. It comes with the
 * `prisma` CLI through @prisma/dev, which runs `prisma dev` (a local Prisma
 * Postgres) and nothing this project uses. This runs what the project runs
 * (the generate wrapper, the migrate CLI, the API, a worker) on this Node with
 * a tracer of every module loaded (module-trace/register.mjs, passed on to child
 * processes through NODE_OPTIONS) and checks the package is never among them.
 */
const root = path.resolve(import.meta.dirname, '../..');
const register = path.join(import.meta.dirname, 'module-trace/register.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'module-trace-'));
let traces = 0;
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Environment that makes a process (and its children) append the modules it loads to a fresh file. */
function tracing(): { env: Record<string, string>; modules: () => string[] } {
  const file = path.join(dir, `trace-${++traces}.txt`);
  return {
    env: { NODE_OPTIONS: `--import ${register}`, MODULE_TRACE_FILE: file },
    modules: () => [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))],
  };
}

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH, ...env } });
}

const STREAMS_LOCAL = /\/node_modules\/@prisma\/streams-local\//;
const PRISMA_DEV = /\/node_modules\/@prisma\/dev\//;

describe('nothing the project runs loads @prisma/streams-local (the package wanting Node 22)', () => {
  it('the tracer sees it when something does load it', () => {
    const trace = tracing();
    const r = run(['--input-type=module', '-e', 'await import("@prisma/streams-local").catch(() => {})'], trace.env);
    expect(r.status).toBe(0);
    expect(trace.modules().some((m) => STREAMS_LOCAL.test(m))).toBe(true);
  });

  it('prisma generate, through the project wrapper', () => {
    const trace = tracing();
    const r = run(['scripts/prisma-generate.mjs'], trace.env);
    expect(r.status, r.stderr).toBe(0);
    const modules = trace.modules();
    // The wrapper's child, the Prisma CLI itself, was traced.
    expect(modules.some((m) => m.endsWith('/node_modules/prisma/build/cli.js'))).toBe(true);
    expect(modules.filter((m) => STREAMS_LOCAL.test(m))).toEqual([]);
    // The CLI requires @prisma/dev's small state module at start (no
    // dependency on streams-local, no engines field); nothing else of it.
    expect(modules.filter((m) => PRISMA_DEV.test(m)).map((m) => m.replace(/^.*\/@prisma\/dev\//, ''))).toEqual(['dist/state.cjs']);
  });

  it('the migrate CLI (npm run db:migrate)', async () => {
    const schema = `trace_${randomBytes(4).toString('hex')}`;
    const trace = tracing();
    try {
      const r = run(['packages/core/dist/cli/migrate.js'], { ...trace.env, DATABASE_URL: t.env.DATABASE_URL, DATABASE_SCHEMA: schema });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Applied \d+ migration/);
    } finally {
      await t.db.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    const modules = trace.modules();
    expect(modules.some((m) => m.endsWith('/packages/core/dist/cli/migrate.js'))).toBe(true);
    expect(modules.some((m) => /\/node_modules\/pg\//.test(m))).toBe(true);
    expect(modules.filter((m) => STREAMS_LOCAL.test(m) || PRISMA_DEV.test(m))).toEqual([]);
  });

  it('the API and a worker, started, serving and stopped', async () => {
    const apiTrace = tracing();
    const workerTrace = tracing();
    const api = await startApi(t, apiTrace.env);
    const worker = await startWorker(t, ['in_app'], { ...workerTrace.env, IN_APP_PROVIDERS: 'console' });
    expect((await api.call('POST', '/notifications', { user_id: 'trace', message: 'hi', channels: ['in_app'] })).status).toBe(202);
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
    for (const [main, modules] of [
      ['/apps/api/dist/main.js', apiTrace.modules()],
      ['/apps/worker/dist/main.js', workerTrace.modules()],
    ] as const) {
      expect(modules.some((m) => m.endsWith(main))).toBe(true);
      expect(modules.some((m) => /\/node_modules\/bullmq\//.test(m))).toBe(true);
      expect(modules.filter((m) => STREAMS_LOCAL.test(m) || PRISMA_DEV.test(m))).toEqual([]);
    }
  }, 60_000);
});
