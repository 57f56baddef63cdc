import { defineConfig, mergeConfig } from 'vitest/config';
import { base, databases } from '../vitest.shared.ts';

// The fault suite: scenarios run one after another (each starts its own processes).
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['src/faults/**/*.fault.test.ts'], globalSetup: [databases], setupFiles: ['src/setup.ts'], testTimeout: 180_000, fileParallelism: false },
  }),
);
