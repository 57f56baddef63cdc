import type { TestProject } from 'vitest/node';
import { postgresUrl } from './global-setup.js';
import { startLocalCluster } from './redis-cluster.js';

import './provided.js';

/**
 * The Redis Cluster tier's global setup: PostgreSQL as for every tier, and
 * the cluster in REDIS_CLUSTER_NODES when set, else a local 3-master cluster
 * of `redis-server` processes, torn down after. Test environments
 * (createTestEnv) then connect every client to the cluster.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<unknown>)[] = [];
  const databaseUrl = await postgresUrl(stops);
  let nodes = process.env.REDIS_CLUSTER_NODES;
  if (!nodes) {
    const cluster = await startLocalCluster({ masters: 3 });
    stops.push(() => cluster.stop());
    nodes = cluster.nodes;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisClusterNodes', nodes);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
