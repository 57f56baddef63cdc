// Runs `prisma generate` on machines without Prisma's native schema engine.
// Generate never executes the engine, but the CLI insists on locating one at
// start and would try to download it; where none is installed we point it at
// an existing file. On a machine with the real engine this changes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

// The options of `prisma generate` (its --help), passed on as given; anything
// else is refused here with exit 2, as Prisma itself exits 1 on a bad option.
const USAGE = `usage: node scripts/prisma-generate.mjs [options of prisma generate]   (npm run db:generate runs it with none)
  prisma generate, also where Prisma's native schema engine cannot be downloaded
  options: --schema PATH, --config PATH, --generator NAME (repeatable), --sql, --watch, --no-hints, --require-models`;
try {
  const { values } = parseArgs({
    options: {
      schema: { type: 'string' },
      config: { type: 'string' },
      generator: { type: 'string', multiple: true },
      sql: { type: 'boolean' },
      watch: { type: 'boolean' },
      'no-hints': { type: 'boolean' },
      'require-models': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
} catch (err) {
  console.error(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}

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
