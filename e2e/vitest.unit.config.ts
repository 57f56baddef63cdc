import { defineConfig, mergeConfig } from 'vitest/config';
import { base } from '../vitest.shared.ts';

// The e2e package's unit tier (`npm run test:unit`, part of `npm test`): checks that need no service and no build,
// such as the Kubernetes manifests'. Each tier names its files by their suffix (.e2e, .fault, .pgbouncer, .cluster, .unit).
export default mergeConfig(base, defineConfig({ test: { include: ['src/**/*.unit.test.ts'] } }));
