import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestEnv, startClusterNode, waitForCluster, type TestEnv } from '@notify/core/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker } from '../processes.js';

/**
 * A process given a Redis Cluster it cannot trust refuses to start, and says
 * why: seed nodes it cannot parse, a CA file it cannot read, slots no master
 * serves, a master that may evict keys. The clusters here are hand-made from cluster-enabled nodes
 * (slots assigned with CLUSTER ADDSLOTSRANGE), so each has exactly one fault.
 */
let t: TestEnv;
const dir = mkdtempSync(path.join(tmpdir(), 'notify-startup-cluster-'));
const taken = new Set<number>();
const nodes: ChildProcess[] = [];

/** A cluster of one node per slot range, joined; each node started with its own extra arguments. */
async function handMadeCluster(parts: { slots: [number, number]; args?: string[] }[]): Promise<string> {
  const started = await Promise.all(parts.map((p) => startClusterNode(dir, taken, p.args)));
  nodes.push(...started.map((s) => s.child));
  const clients = started.map((s) => new Redis(s.port, '127.0.0.1'));
  try {
    await Promise.all(clients.map((c, i) => c.cluster('ADDSLOTSRANGE', ...parts[i]!.slots)));
    for (const s of started.slice(1)) await clients[0]!.cluster('MEET', '127.0.0.1', s.port);
  } finally {
    for (const c of clients) c.disconnect();
  }
  return started.map((s) => `127.0.0.1:${s.port}`).join(',');
}

const refusal = (start: Promise<unknown>) =>
  start.then(
    () => 'started',
    (err: Error) => err.message,
  );

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(async () => {
  for (const node of nodes) node.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await t?.close();
});

describe('start-up checks on Redis Cluster', () => {
  it('a malformed REDIS_CLUSTER_NODES stops the process, naming the variable and the bad entry', async () => {
    const failed = await refusal(startApi(t, { REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis://127.0.0.1:7001' }));
    expect(failed).toMatch(/api exited/);
    expect(failed).toMatch(/REDIS_CLUSTER_NODES: "redis:\/\/127\.0\.0\.1:7001" is not host:port/);
  });

  it('a REDIS_TLS_CA that cannot be read stops the process, naming the file', async () => {
    const failed = await refusal(startApi(t, { REDIS_TLS: 'true', REDIS_TLS_CA: path.join(dir, 'missing-ca.pem') }));
    expect(failed).toMatch(/refusing to start/);
    expect(failed).toContain(`REDIS_TLS_CA: cannot read ${path.join(dir, 'missing-ca.pem')}`);
  });

  it('a cluster with slots no master serves stops the API, naming the node and the count', async () => {
    const seeds = await handMadeCluster([{ slots: [0, 8191] }]);
    const failed = await refusal(startApi(t, { REDIS_CLUSTER_NODES: seeds }));
    expect(failed).toMatch(/api exited/);
    expect(failed).toContain(`Redis Cluster node ${seeds} reports cluster_state:fail with 8192 of 16384 slots served`);
  });

  it('a master that may evict keys stops the API and a worker, naming that master', async () => {
    const seeds = await handMadeCluster([{ slots: [0, 8191] }, { slots: [8192, 16383], args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] }]);
    await waitForCluster(seeds.split(',').map((s) => Number(s.split(':')[1])));
    const evicting = seeds.split(',')[1]!;
    const [api, worker] = await Promise.all([refusal(startApi(t, { REDIS_CLUSTER_NODES: seeds })), refusal(startWorker(t, ['email'], { REDIS_CLUSTER_NODES: seeds }))]);
    for (const failed of [api, worker]) {
      expect(failed).toMatch(/refusing to start/);
      expect(failed).toContain(`Redis ${evicting} maxmemory-policy is \\"allkeys-lru\\"; it must be \\"noeviction\\"`);
    }
  });

  it('/ready answers 503 naming the master while one may evict keys, and 200 again once it may not', async () => {
    const seeds = await handMadeCluster([{ slots: [0, 8191] }, { slots: [8192, 16383] }]);
    const ports = seeds.split(',').map((s) => Number(s.split(':')[1]));
    await waitForCluster(ports);
    const api = await startApi(t, { REDIS_CLUSTER_NODES: seeds });
    const second = new Redis(ports[1]!, '127.0.0.1');
    try {
      expect((await fetch(`${api.url}/ready`)).status).toBe(200);
      await second.config('SET', 'maxmemory-policy', 'volatile-lru');
      const res = await fetch(`${api.url}/ready`);
      expect(res.status).toBe(503);
      expect(JSON.stringify(await res.json())).toContain(`Redis 127.0.0.1:${ports[1]} maxmemory-policy is \\"volatile-lru\\"`);
      await second.config('SET', 'maxmemory-policy', 'noeviction');
      expect((await fetch(`${api.url}/ready`)).status).toBe(200);
    } finally {
      second.disconnect();
      await api.stop('SIGTERM');
    }
  });
});
