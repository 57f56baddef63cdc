import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll } from './processes.js';

/**
 * The API imports `@notify/core` by subpath and never `@notify/core/channels`,
 * so it does not load the provider SDKs (their memory and start-up are the
 * workers' cost alone). The built API and a worker run with the module-load
 * tracer (module-trace/register.mjs); the worker, which loads the provider
 * registry, shows the tracer sees the SDKs when they are loaded.
 */
const register = path.join(import.meta.dirname, 'module-trace/register.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'provider-sdks-'));
let t: TestEnv;

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  await stopAll();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function tracing(name: string): { env: Record<string, string>; modules: () => string[] } {
  const file = path.join(dir, `${name}.txt`);
  return {
    env: { NODE_OPTIONS: `--import ${register}`, MODULE_TRACE_FILE: file },
    modules: () => [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))],
  };
}

const SDKS = ['twilio', 'web-push', 'nodemailer', 'google-auth-library'];
const sdkOf = (m: string) => SDKS.find((sdk) => m.includes(`/node_modules/${sdk}/`));
/** The core modules that import an SDK, and the registry and entry that import them. */
const PROVIDER_FILE = /\/packages\/core\/dist\/channels\/(twilio|smtp|webpush|fcm|registry|index)\.js$/;

describe('the API process loads no provider SDK', () => {
  it('the API, serving a notification, loads none of twilio, web-push, nodemailer, google-auth-library', async () => {
    const trace = tracing('api');
    const api = await startApi(t, trace.env);
    expect((await api.call('POST', '/notifications', { user_id: 'sdk-trace', message: 'hi', channels: ['in_app'] })).status).toBe(202);
    expect((await api.call('GET', '/ready')).status).toBe(200);
    expect(await api.stop('SIGTERM')).toBe(0);
    const modules = trace.modules();
    expect(modules.some((m) => m.endsWith('/apps/api/dist/main.js'))).toBe(true);
    // The traced API did load core through its subpaths.
    expect(modules.some((m) => m.endsWith('/packages/core/dist/platform/index.js'))).toBe(true);
    expect(modules.filter(sdkOf)).toEqual([]);
    expect(modules.filter((m) => PROVIDER_FILE.test(m))).toEqual([]);
  }, 60_000);

  it('a worker does load them (the tracer would see them in the API)', async () => {
    const trace = tracing('worker');
    const worker = await startWorker(t, ['in_app'], { ...trace.env, IN_APP_PROVIDERS: 'console' });
    expect(await worker.stop('SIGTERM')).toBe(0);
    const modules = trace.modules();
    expect(SDKS.filter((sdk) => modules.some((m) => sdkOf(m) === sdk))).toEqual(SDKS);
  }, 60_000);
});
