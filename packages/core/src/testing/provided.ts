/** What the global setup hands each test file through vitest's inject(). */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** Single-node Redis; the cluster tier provides none (REDIS_CLUSTER_NODES wins over REDIS_URL). */
    redisUrl: string;
    /** Redis Cluster seed nodes, `host:port,...` (the cluster tier). */
    redisClusterNodes?: string;
  }
}
export {};
