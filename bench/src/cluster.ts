import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startClusterNode, startLocalCluster } from '@notify/core/testing';
import { createBenchEnv, type BenchEnv } from './bench-env.js';
import { redisServerPids } from './cpu.js';
import { findSustained, warmUp, type Ramp } from './e2e-rate.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import { startDeployment, type Deployment } from './service-processes.js';

export const CLUSTER_MASTERS = 3;

export type RedisKind = 'single' | 'cluster';

export interface ClusterRep {
  rep: number;
  redis: RedisKind;
  ramp: Ramp;
}

export interface ClusterResult {
  /** The local cluster's nodes, as REDIS_CLUSTER_NODES got them. */
  nodes: string;
  reps: ClusterRep[];
  failures: string[];
}

/** A Redis of the section's own, and the service deployed on it. */
interface Side {
  kind: RedisKind;
  env: BenchEnv;
  /** The service's extra environment (REDIS_CLUSTER_NODES on the cluster). */
  settings: Record<string, string>;
  /** The redis-server processes it uses: the only Redis CPU counted for it. */
  redis: ReadonlySet<number>;
  d: Deployment | null;
  warmed: boolean;
}

/**
 * The sustained rate (findSustained, as the e2e section) on single-node Redis
 * and on a Redis Cluster of CLUSTER_MASTERS masters, in the same run. Both
 * are the section's own, started from redis-server on free ports and removed
 * at the end: the cluster by the test tier's startLocalCluster, the single
 * server as one of its nodes with cluster mode off (same binary, same
 * settings), so neither shares its CPU with other users of REDIS_URL. Each
 * has its own deployment, schema and key prefix; repetitions alternate
 * which goes first.
 */
export async function measureCluster(o: BenchOptions, register: (cleanup: () => Promise<void>) => void): Promise<ClusterResult> {
  const servers: { stop(): Promise<void> }[] = [];
  const sides: Side[] = [];
  let closed = false;
  const cleanup = async () => {
    closed = true;
    for (const s of sides.splice(0)) {
      await s.d?.stop().catch((err: unknown) => progress(`stopping the service on ${s.kind} Redis failed: ${String(err)}`));
      await s.env.close().catch((err: unknown) => progress(`cleanup of ${s.env.schema} failed: ${String(err)}`));
    }
    for (const server of servers.splice(0)) await server.stop().catch((err: unknown) => progress(`stopping a Redis failed: ${String(err)}`));
  };
  register(cleanup);
  try {
    const single = await startSingleRedis();
    servers.push(single);
    const cluster = await startLocalCluster({ masters: CLUSTER_MASTERS });
    servers.push(cluster);
    progress(`cluster: single-node Redis on ${single.port}, ${CLUSTER_MASTERS}-master Redis Cluster at ${cluster.nodes}`);
    sides.push(
      {
        kind: 'single',
        env: await createBenchEnv(undefined, `redis://127.0.0.1:${single.port}`),
        settings: o.serviceEnv,
        redis: redisServerPids([single.port]),
        d: null,
        warmed: false,
      },
      {
        kind: 'cluster',
        env: await createBenchEnv(),
        settings: { ...o.serviceEnv, REDIS_CLUSTER_NODES: cluster.nodes },
        redis: redisServerPids(cluster.ports),
        d: null,
        warmed: false,
      },
    );
    const result: ClusterResult = { nodes: cluster.nodes, reps: [], failures: [] };
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const side of rep % 2 === 1 ? [...sides] : [...sides].reverse()) {
        try {
          const d = await deployed(side, o, () => closed);
          if (!side.warmed) {
            await warmUp(side.env, d, o);
            side.warmed = true;
          }
          const earlier = result.reps.filter((r) => r.redis === side.kind).map((r) => r.ramp);
          const ramp = await findSustained(side.env, d, o, earlier, `cluster-${side.kind}-r${rep}`, side.redis);
          progress(`cluster rep ${rep}, ${side.kind === 'single' ? 'single-node Redis' : 'Redis Cluster'}: sustained ${ramp.sustained ?? 'none'} notifications/s`);
          result.reps.push({ rep, redis: side.kind, ramp });
        } catch (err) {
          if (closed) throw err;
          const message = err instanceof Error ? err.message : String(err);
          result.failures.push(`rep ${rep} on ${side.kind}: ${message.split('\n')[0]}`);
          progress(`cluster rep ${rep} on ${side.kind} failed: ${message}`);
        }
      }
    }
    return result;
  } finally {
    await cleanup();
  }
}

/** The side's deployment, started on first use and again when one of its processes has died (then it is warmed again). */
async function deployed(side: Side, o: BenchOptions, closed: () => boolean): Promise<Deployment> {
  if (side.d?.api.alive() && side.d.workers().every((w) => w.alive())) return side.d;
  if (side.d) {
    progress(`cluster: a process of the service on ${side.kind} Redis died; restarting both`);
    await side.d.stop();
    side.warmed = false;
  }
  if (closed()) throw new Error('the section was stopped');
  side.d = await startDeployment(side.env, side.settings, o.profileDir);
  return side.d;
}

/** A Redis server for the single-node side: a cluster node's process with cluster mode off (the later flag wins). */
async function startSingleRedis(): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'notify-bench-redis-'));
  const { port, child } = await startClusterNode(dir, new Set(), ['--cluster-enabled', 'no']);
  const exited = once(child, 'exit');
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
