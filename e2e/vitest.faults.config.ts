import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// The fault suite: scenarios run one after another (each starts its own processes).
export default mergeConfig(
  shared,
  defineConfig({
    test: { include: ['src/faults/**/*.fault.test.ts'], setupFiles: ['src/setup.ts'], testTimeout: 180_000, fileParallelism: false },
  }),
);
