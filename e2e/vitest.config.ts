import { defineConfig, mergeConfig } from 'vitest/config';
import { base, databases } from '../vitest.shared.ts';

// Runs the built API and worker as child processes, as production does.
export default mergeConfig(base, defineConfig({ test: { include: ['src/**/*.e2e.test.ts'], globalSetup: [databases], setupFiles: ['src/setup.ts'], testTimeout: 60_000 } }));
