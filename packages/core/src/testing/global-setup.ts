import type { TestProject } from 'vitest/node';

import './provided.js';

type Stops = (() => Promise<unknown>)[];

/** DATABASE_URL when set, else a PostgreSQL container (testcontainers, needs Docker). */
export async function postgresUrl(stops: Stops): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const pg = await new PostgreSqlContainer('postgres:16-alpine').start();
  stops.push(() => pg.stop());
  return pg.getConnectionUri();
}

/**
 * Hands every test file the URLs of a real PostgreSQL and Redis: the ones in
 * DATABASE_URL / REDIS_URL when set (CI, local services), otherwise containers
 * started with testcontainers (needs Docker).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Stops = [];
  const databaseUrl = await postgresUrl(stops);
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const redis = await new RedisContainer('redis:7-alpine').withCommand(['redis-server', '--maxmemory-policy', 'noeviction']).start();
    stops.push(() => redis.stop());
    redisUrl = redis.getConnectionUrl();
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
