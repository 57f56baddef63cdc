import { startLocalCluster, type LocalCluster } from '@notify/core/testing';
import { createBenchEnv, type BenchEnv } from './bench-env.js';
import { redisServerPids } from './cpu.js';
import { findSustained, warmUp, type Ramp, type StepResult } from './e2e-rate.js';
import type { BenchOptions } from './options.js';
import { progress } from './progress.js';
import type { ServiceHandle } from './repetitions.js';
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

/** CPU per notification of a step, µs, over its load: the service's processes, its PostgreSQL sessions and the Redis servers it used. */
export function cpuPerNotification(s: StepResult): { api: number; worker: number; pg: number; redis: number; total: number } {
  const per = (percent: number) => (s.load.achievedRate > 0 ? (percent / 100 / s.load.achievedRate) * 1e6 : Number.NaN);
  const { api, worker, pg, redis } = s.cpu;
  return { api: per(api), worker: per(worker), pg: per(pg), redis: per(redis), total: per(api + worker + pg + redis) };
}

/**
 * The sustained rate (findSustained, as the e2e section) on single-node Redis
 * and on a local Redis Cluster of CLUSTER_MASTERS masters (started from
 * redis-server on free ports, removed at the end), in the same run:
 * single-node is the run's own deployment; the cluster's has a schema and
 * key prefix of its own. Repetitions alternate which goes first. The Redis
 * CPU counted is that of the servers each deployment uses, no other.
 */
export async function measureCluster(b: BenchEnv, single: ServiceHandle, o: BenchOptions, register: (cleanup: () => Promise<void>) => void): Promise<ClusterResult> {
  let cluster: LocalCluster | null = null;
  let env: BenchEnv | null = null;
  let d: Deployment | null = null;
  const cleanup = async () => {
    await d?.stop().catch((err: unknown) => progress(`stopping the cluster's service failed: ${String(err)}`));
    await env?.close().catch((err: unknown) => progress(`cleanup of the cluster's schema failed: ${String(err)}`));
    await cluster?.stop().catch((err: unknown) => progress(`stopping the Redis Cluster failed: ${String(err)}`));
    [d, env, cluster] = [null, null, null];
  };
  register(cleanup);
  try {
    const c = await startLocalCluster({ masters: CLUSTER_MASTERS });
    cluster = c;
    const clusterEnv = await createBenchEnv();
    env = clusterEnv;
    const settings = { ...o.serviceEnv, REDIS_CLUSTER_NODES: c.nodes };
    const startOnCluster = () => startDeployment(clusterEnv, settings, o.profileDir);
    progress(`cluster: ${CLUSTER_MASTERS} masters at ${c.nodes}; schema ${clusterEnv.schema}; starting an API and a worker on it`);
    d = await startOnCluster();
    const onCluster: ServiceHandle = {
      get: async () => {
        if (d && !hasDied(d)) return d;
        progress("cluster: a process of the cluster's service died; restarting both");
        await d?.stop();
        d = await startOnCluster();
        return d;
      },
      died: () => d !== null && hasDied(d),
    };
    const sides = {
      single: { env: b, service: single, redis: redisServerPids([Number(new URL(b.redisUrl).port || 6379)]) },
      cluster: { env: clusterEnv, service: onCluster, redis: redisServerPids(c.ports) },
    };
    const result: ClusterResult = { nodes: c.nodes, reps: [], failures: [] };
    const warmed = new Set<Deployment>();
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const kind of (rep % 2 === 1 ? ['single', 'cluster'] : ['cluster', 'single']) as RedisKind[]) {
        const side = sides[kind];
        try {
          const deployment = await side.service.get();
          if (!warmed.has(deployment)) {
            await warmUp(side.env, deployment, o);
            warmed.add(deployment);
          }
          const earlier = result.reps.filter((r) => r.redis === kind).map((r) => r.ramp);
          const ramp = await findSustained(side.env, deployment, o, earlier, `cluster-${kind}-r${rep}`, side.redis);
          progress(`cluster rep ${rep}, ${kind === 'single' ? 'single-node Redis' : 'Redis Cluster'}: sustained ${ramp.sustained ?? 'none'} notifications/s`);
          result.reps.push({ rep, redis: kind, ramp });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          result.failures.push(`rep ${rep} on ${kind}: ${message.split('\n')[0]}`);
          progress(`cluster rep ${rep} on ${kind} failed: ${message}`);
        }
      }
    }
    return result;
  } finally {
    await cleanup();
  }
}

/** A process of the deployment has exited. */
const hasDied = (d: Deployment) => !d.workers().every((w) => w.alive()) || !d.api.alive();
