/** A PgBouncer started by a global setup (the PgBouncer tier): what test files need to connect through it. */
export interface PgBouncerInfo {
  /** The test database through PgBouncer, as the superuser (its search_path is the server's default). */
  url: string;
  /** The admin console (`SHOW POOLS`, `SHOW STATS`; simple queries only). */
  adminUrl: string;
  /** Server connections per database and user pair (default_pool_size). */
  poolSize: number;
  /** Starts the names of the roles schemaRoleUrl creates, so stopping drops exactly this run's. */
  rolePrefix: string;
  /** The PostgreSQL it fronts, for what must go direct (migrations, roles). */
  directUrl: string;
}

/** What the global setup hands each test file through vitest's inject(). */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** Single-node Redis; the cluster tier provides none (REDIS_CLUSTER_NODES wins over REDIS_URL). */
    redisUrl: string;
    /** Redis Cluster seed nodes, `host:port,...` (the cluster tier). */
    redisClusterNodes?: string;
    /** Only in the PgBouncer tier (e2e/vitest.pgbouncer.config.ts). */
    pgbouncer?: PgBouncerInfo;
  }
}
