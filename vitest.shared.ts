import path from 'node:path';
import { defineConfig } from 'vitest/config';

const core = path.resolve(import.meta.dirname, 'packages/core/src');

/** Settings every package's vitest.config.ts starts from. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@notify\/core\/testing$/, replacement: path.join(core, 'testing/index.ts') },
      // A folder's entry file, as the `source` condition of its exports map names it.
      { find: /^@notify\/core\/([a-z-]+)$/, replacement: path.join(core, '$1/index.ts') },
      { find: /^@notify\/core$/, replacement: path.join(core, 'index.ts') },
    ],
  },
  test: {
    globalSetup: [path.join(core, 'testing/global-setup.ts')],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files share two cores with PostgreSQL and Redis.
    maxWorkers: 2,
  },
});
