import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import { base } from '../vitest.shared.ts';

// The e2e package's unit tier (`npm run test:unit`, part of `npm test`): checks that need no service and no build,
// such as the Kubernetes manifests'.
export default mergeConfig(
  base,
  defineConfig({ test: { include: ['src/**/*.test.ts'], exclude: [...configDefaults.exclude, 'src/**/*.e2e.test.ts', 'src/**/*.fault.test.ts', 'src/**/*.pgbouncer.test.ts'] } }),
);
