import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A Redis Cluster of local `redis-server` processes, each in its own folder of one temp dir. */
export interface LocalCluster {
  /** `127.0.0.1:port,...` of every node, as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  ports: number[];
  /** Sends a signal to one node's process (SIGKILL: a crash). */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** The ports that are masters now, as the nodes themselves report it. */
  masterPorts(): Promise<number[]>;
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a master may be silent before its replica takes over. */
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  args?: string[];
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeNodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
}

/** Runs `fn` on a fresh connection to one node; null when the node does not answer. */
async function onNode<T>(port: number, fn: (node: Redis) => Promise<T>): Promise<T | null> {
  const node = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  node.on('error', () => {});
  try {
    await node.connect();
    return await fn(node);
  } catch {
    return null;
  } finally {
    node.disconnect();
  }
}

/** Starts one cluster-enabled `redis-server` (no slots yet) on a free port, and waits until it answers. */
export async function startClusterNode(dir: string, taken: Set<number>, args: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const port = await freeNodePort(taken);
  const own = path.join(dir, String(port));
  mkdirSync(own, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      own,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      ...args,
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; (await onNode(port, async () => true)) === null; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    if (i > 200) throw new Error(`redis-server on ${port} did not answer`);
    await sleep(50);
  }
  return { port, child };
}

/** Resolves once every node says cluster_state:ok and every replica's link to its master is up. */
export async function waitForCluster(ports: number[], timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const healthy = await Promise.all(
      ports.map((port) =>
        onNode(port, async (node) => {
          const [cluster, replication] = await Promise.all([node.cluster('INFO'), node.info('replication')]);
          return /cluster_state:ok/.test(String(cluster)) && (/role:master/.test(replication) || /master_link_status:up/.test(replication));
        }),
      ),
    );
    if (healthy.every(Boolean)) return;
    if (Date.now() - started > timeoutMs) throw new Error(`Redis Cluster on ${ports.join(', ')} not healthy after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Signals a node's process and waits for it to exit (at once when it already has). */
async function signalNode(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/**
 * Starts a Redis Cluster from the `redis-server` binary: `masters` nodes (and
 * `replicasPerMaster` replicas of each) on free ports, joined with
 * `redis-cli --cluster create`, every slot served before it resolves.
 */
export async function startLocalCluster(o: LocalClusterOptions = {}): Promise<LocalCluster> {
  for (const binary of ['redis-server', 'redis-cli']) {
    if (spawnSync(binary, ['--version']).status !== 0) throw new Error(`the Redis Cluster tests need \`${binary}\` on PATH (Debian: apt-get install redis-server)`);
  }
  const masters = o.masters ?? 3;
  const replicas = o.replicasPerMaster ?? 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'notify-cluster-'));
  const taken = new Set<number>();
  const args = ['--cluster-node-timeout', String(o.nodeTimeoutMs ?? 5000), ...(o.args ?? [])];
  const started = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => startClusterNode(dir, taken, args)));
  const children = new Map(started.map((s) => [s.port, s.child]));
  const ports = started.map((s) => s.port);
  const stop = async () => {
    await Promise.all([...children.values()].map((child) => signalNode(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await waitForCluster(ports);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    async kill(port, signal = 'SIGKILL') {
      const child = children.get(port);
      if (child) await signalNode(child, signal);
    },
    async masterPorts() {
      const roles = await Promise.all(
        ports.map((port) => {
          const child = children.get(port)!;
          if (child.exitCode !== null || child.signalCode !== null) return null;
          return onNode(port, async (node) => (/role:master/.test(await node.info('replication')) ? port : null));
        }),
      );
      return roles.filter((p): p is number => p !== null);
    },
    stop,
  };
}
