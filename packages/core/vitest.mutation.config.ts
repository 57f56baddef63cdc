import { defineConfig } from 'vitest/config';

/**
 * The unit tests of the modules Stryker mutates (stryker.config.json), and
 * nothing else: no globalSetup, so a mutation run needs neither PostgreSQL
 * nor Redis. Kept apart from vitest.config.ts because Stryker copies this
 * package into a sandbox where ../../vitest.shared.ts does not exist.
 */
export default defineConfig({
  test: {
    include: [
      'src/platform/ssrf.test.ts',
      'src/platform/queues.test.ts',
      'src/audience/quiet-hours*.test.ts',
      'src/channels/circuit-breaker.test.ts',
      'src/notifications/idempotency.test.ts',
      'src/content/engine.test.ts',
    ],
  },
});
