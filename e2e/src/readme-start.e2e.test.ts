import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerAvailable, planServices, probe, VOLUMES } from '../../scripts/start-services.mjs';
import { freePort } from './processes.js';

/**
 * "Two commands on any machine": `npm start` with no DATABASE_URL / REDIS_URL
 * uses what answers on the default ports, else starts containers when Docker
 * is there, else stops at once saying what to install or set. This machine
 * has no Docker engine, so the process test takes the last path; the
 * decision itself is checked for every case with its inputs faked.
 */
const root = path.resolve(import.meta.dirname, '../..');
const defaults = { database: 'postgresql://postgres@127.0.0.1:5432/notify', redis: 'redis://127.0.0.1:6379' };
const never = async () => {
  throw new Error('not to be asked');
};

describe('where npm start finds PostgreSQL and Redis', () => {
  it('uses DATABASE_URL and REDIS_URL when set, probing nothing', async () => {
    const plan = await planServices({ set: { database: 'postgresql://db.internal/x', redis: 'redis://cache.internal' }, defaults, probe: never, docker: never });
    expect(plan).toEqual({ urls: { database: 'postgresql://db.internal/x', redis: 'redis://cache.internal' }, containers: [], notes: [] });
  });

  it('uses the defaults when something answers there', async () => {
    const plan = await planServices({ set: {}, defaults, probe: async () => true, docker: never });
    expect(plan).toEqual({ urls: defaults, containers: [], notes: [] });
  });

  it('starts containers for what is missing when Docker is there, and says so', async () => {
    const plan = await planServices({ set: { database: 'postgresql://db.internal/x' }, defaults, probe: async () => false, docker: async () => true });
    expect(plan.error).toBeUndefined();
    if (plan.error !== undefined) return;
    expect(plan.containers).toEqual(['redis']);
    expect(plan.notes.join('\n')).toContain(`starting a Docker container (data in volume ${VOLUMES.redis})`);
  });

  it('with neither, names only what is missing and every way out', async () => {
    const plan = await planServices({ set: { database: 'postgresql://db.internal/x' }, defaults, probe: async () => false, docker: async () => false });
    expect(plan.error).toMatch(/Redis: REDIS_URL is not set and nothing answers at redis:\/\/127\.0\.0\.1:6379/);
    expect(plan.error).not.toMatch(/DATABASE_URL/);
    expect(plan.error).toMatch(/install Docker/);
  });

  it('probes with a TCP connection', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      expect(await probe(`redis://127.0.0.1:${port}`)).toBe(true);
    } finally {
      server.close();
    }
    expect(await probe(`postgresql://postgres@127.0.0.1:${await freePort()}/notify`)).toBe(false);
  });
});

describe.skipIf(await dockerAvailable())('npm start on a machine with no services and no Docker', () => {
  it('stops within seconds with a message naming DATABASE_URL, REDIS_URL and Docker', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const started = Date.now();
    // The script alone (`npm start` builds first, then runs it), with nothing set but
    // where it looks for local services: two closed ports.
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        START_DEFAULT_DATABASE_URL: `postgresql://postgres@127.0.0.1:${pgPort}/notify`,
        START_DEFAULT_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    // Should it not stop (it found a service after all), it must not go on to run one.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(guard);
    const seconds = (Date.now() - started) / 1000;
    expect(code).toBe(1);
    // Seconds, not the minutes of a client retrying forever; generous, as node itself starts slowly on a loaded machine.
    expect(seconds).toBeLessThan(15);
    expect(output).toContain(`PostgreSQL: DATABASE_URL is not set and nothing answers at postgresql://postgres@127.0.0.1:${pgPort}/notify`);
    expect(output).toContain(`Redis: REDIS_URL is not set and nothing answers at redis://127.0.0.1:${redisPort}`);
    expect(output).toMatch(/install Docker/);
    // It stopped before doing anything: no migration, no process started.
    expect(output).not.toMatch(/migration|API keys|listening/i);
  });
});
