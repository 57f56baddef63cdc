// Runs `prisma generate` on machines without Prisma's native schema engine.
// Generate never executes the engine, but the CLI insists on locating one at
// start and would try to download it; where none is installed we point it at
// an existing file. On a machine with the real engine this changes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const enginesDir = path.dirname(require.resolve('@prisma/engines/package.json'));
const hasEngine = readdirSync(enginesDir).some((f) => f.startsWith('schema-engine'));

const env = { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
if (!hasEngine && !env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;

const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { env, stdio: 'inherit', cwd: root });
if (!existsSync(path.join(root, 'packages/core/src/generated/prisma/client.ts'))) {
  console.error('prisma generate did not produce packages/core/src/generated/prisma/client.ts');
  process.exit(1);
}
process.exit(result.status ?? 1);
