import { defineConfig } from 'vitest/config';

// Pure logic only (no PostgreSQL, Redis or browser): the component itself is tested in Chromium by e2e/src/inbox-component.e2e.test.ts.
export default defineConfig({ test: { include: ['src/**/*.test.ts'] } });
