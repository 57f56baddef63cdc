import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Env, loadEnv, providerNames, rateLimitFor, retentionSettings } from './env.js';
import { migrationsDir } from './migrate.js';

describe('loadEnv', () => {
  it('has a default for everything', () => {
    const env = loadEnv({});
    expect(env.DELIVERY_ATTEMPTS).toBe(4);
    expect(env.RETRY_BASE_DELAY_MS).toBe(2000);
    expect(providerNames(env, 'email')).toEqual(['console']);
  });

  it('names every invalid variable', () => {
    expect(() => loadEnv({ PORT: 'eighty', SIMULATED_FAILURE_RATE: '2' })).toThrow(/PORT[\s\S]*SIMULATED_FAILURE_RATE/);
  });

  it('parses rate limits', () => {
    const env = loadEnv({ SMS_RATE_LIMIT: '10/s', EMAIL_RATE_LIMIT: '600/m', PUSH_RATE_LIMIT: '5/200ms' });
    expect(rateLimitFor(env, 'sms')).toEqual({ max: 10, durationMs: 1000 });
    expect(rateLimitFor(env, 'email')).toEqual({ max: 600, durationMs: 60_000 });
    expect(rateLimitFor(env, 'push')).toEqual({ max: 5, durationMs: 200 });
    expect(rateLimitFor(env, 'webhook')).toBeUndefined();
    expect(() => loadEnv({ SMS_RATE_LIMIT: 'fast' })).toThrow(/SMS_RATE_LIMIT/);
  });

  it('keeps each kind of record RETENTION_DAYS unless it has its own limit', () => {
    expect(retentionSettings(loadEnv({})).days).toEqual({ notifications: 90, statusEvents: 90, auditEvents: 90 });
    const env = loadEnv({ RETENTION_DAYS: '30', RETENTION_STATUS_EVENT_DAYS: '7', RETENTION_AUDIT_DAYS: '0', RETENTION_NOTIFICATION_DAYS: ' ' });
    expect(retentionSettings(env).days).toEqual({ notifications: 30, statusEvents: 7, auditEvents: 0 });
    expect(() => loadEnv({ RETENTION_AUDIT_DAYS: '1.5' })).toThrow(/RETENTION_AUDIT_DAYS/);
    expect(() => loadEnv({ RETENTION_NOTIFICATION_DAYS: '-1' })).toThrow(/RETENTION_NOTIFICATION_DAYS/);
  });

  it('parses Redis Cluster seed nodes and names a malformed one', () => {
    expect(loadEnv({}).REDIS_CLUSTER_NODES).toEqual([]);
    expect(loadEnv({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-2.internal:7001,[::1]:7002' }).REDIS_CLUSTER_NODES).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    for (const bad of ['10.0.0.1', '10.0.0.1:7000,', 'redis://10.0.0.1:7000', 'host:0', 'host:70000', 'a b:1']) {
      expect(() => loadEnv({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES: .* is not host:port/);
    }
  });

  it('refuses a QUEUE_PREFIX with a hash tag: each queue has its own', () => {
    expect(() => loadEnv({ QUEUE_PREFIX: '{notify}' })).toThrow(/QUEUE_PREFIX: must not contain \{ or \}/);
  });

  it('reads ordered provider lists', () => {
    expect(providerNames(loadEnv({ EMAIL_PROVIDERS: ' simulated, console ' }), 'email')).toEqual(['simulated', 'console']);
  });
});

describe('.env.example', () => {
  it('lists exactly the variables the service reads, with their defaults', async () => {
    const text = await readFile(path.join(migrationsDir(), '../../.env.example'), 'utf8');
    const listed = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(listed).sort()).toEqual(Object.keys(Env.shape).sort());
    expect(loadEnv(listed)).toEqual(loadEnv({}));
  });
});
