import { defineConfig, mergeConfig } from 'vitest/config';
import e2e from './vitest.config.ts';

// The end-to-end suite again, every service process connecting through a real PgBouncer in
// transaction pooling mode (src/pgbouncer/global-setup.ts), plus the checks that it really did.
export default mergeConfig(e2e, defineConfig({ test: { include: ['src/pgbouncer/*.pgbouncer.test.ts'], globalSetup: ['src/pgbouncer/global-setup.ts'] } }));
