import { startPgBouncer } from '@notify/core/testing';
import type { TestProject } from 'vitest/node';

/**
 * The PgBouncer tier: a real PgBouncer in transaction pooling mode in front of
 * the PostgreSQL the databases setup provides (runs after it), with few server
 * connections per pool so the service processes' connections really share
 * them. Test files still migrate and check directly; the service processes
 * connect through it (processes.ts).
 */
const SERVER_CONNECTIONS = 4;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bouncer = await startPgBouncer(project.getProvidedContext().databaseUrl, { poolSize: SERVER_CONNECTIONS });
  const { stop, ...info } = bouncer;
  project.provide('pgbouncer', info);
  return stop;
}
