import { describe, expect, it } from 'vitest';
import { loadEnv } from './env.js';
import { redisTarget } from './redis.js';

describe('redisTarget', () => {
  it('is REDIS_URL until REDIS_CLUSTER_NODES is set', () => {
    expect(redisTarget(loadEnv({ REDIS_URL: 'rediss://u:p@cache:6380', REDIS_PASSWORD: 'ignored' }))).toBe('rediss://u:p@cache:6380');
  });

  it('is the cluster, with the credentials and TLS every node shares, when it is', () => {
    const env = loadEnv({
      REDIS_URL: 'redis://ignored:6379',
      REDIS_CLUSTER_NODES: 'a:7000,b:7001',
      REDIS_USERNAME: 'svc',
      REDIS_PASSWORD: 'pw',
      REDIS_TLS: 'true',
      REDIS_TLS_CA: '/etc/ca.pem',
    });
    expect(redisTarget(env)).toEqual({
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      username: 'svc',
      password: 'pw',
      tls: { ca: '/etc/ca.pem' },
    });
    expect(redisTarget(loadEnv({ REDIS_CLUSTER_NODES: 'a:7000' }))).toEqual({ nodes: [{ host: 'a', port: 7000 }] });
  });
});
