import path from 'node:path';
import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';

const core = path.resolve(import.meta.dirname, 'packages/core/src');

/** Hands test files the URLs of a real PostgreSQL and Redis (see testing/global-setup.ts). */
export const databases = path.join(core, 'testing/global-setup.ts');

/** What every vitest config starts from: core's sources in place of its build, and the timeouts. */
export const base = defineConfig({
  resolve: {
    alias: [
      { find: /^@notify\/core\/testing$/, replacement: path.join(core, 'testing/index.ts') },
      // A folder's entry file, as the `source` condition of its exports map names it.
      { find: /^@notify\/core\/([a-z-]+)$/, replacement: path.join(core, '$1/index.ts') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files share two cores with PostgreSQL and Redis.
    maxWorkers: 2,
  },
});

/**
 * A package's two test tiers, each a vitest project, run apart by turbo so
 * `npm test` names the one that failed:
 * - `unit`: `*.test.ts`, no global setup, so it needs neither PostgreSQL nor
 *   Redis (a test that reaches for them gets no URL from inject() and fails);
 * - `integration`: `*.int.test.ts`, against real PostgreSQL and Redis.
 * `vitest run` in a package runs both; `--project unit` one.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: { name: 'unit', include: ['src/**/*.test.ts'], exclude: [...configDefaults.exclude, 'src/**/*.int.test.ts', 'src/**/*.e2e.test.ts', 'src/**/*.fault.test.ts'] },
        },
        { extends: true, test: { name: 'integration', include: ['src/**/*.int.test.ts'], globalSetup: [databases] } },
      ],
    },
  }),
);
