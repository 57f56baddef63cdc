import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// Runs the built API and worker as child processes, as production does.
export default mergeConfig(shared, defineConfig({ test: { include: ['src/**/*.e2e.test.ts'], setupFiles: ['src/setup.ts'], testTimeout: 60_000 } }));
