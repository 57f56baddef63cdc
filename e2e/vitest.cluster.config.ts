import path from 'node:path';
import { defineConfig, mergeConfig } from 'vitest/config';
import { base } from '../vitest.shared.ts';

// The Redis Cluster tier: the built processes on a real cluster (a local 3-master one unless REDIS_CLUSTER_NODES is given).
// Beside its own files, the pipeline walkthrough runs here unchanged: the test helpers connect to whichever Redis the setup provides.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['src/cluster/**/*.cluster.test.ts', 'src/pipeline.e2e.test.ts'],
      globalSetup: [path.resolve(import.meta.dirname, '../packages/core/src/testing/cluster-global-setup.ts')],
      setupFiles: ['src/setup.ts'],
      testTimeout: 60_000,
    },
  }),
);
