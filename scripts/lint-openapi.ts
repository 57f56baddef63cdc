// `npm run lint:openapi`: asks the API for its /openapi.json (in process, see
// openapi-document.ts), writes the answer to a temporary file and lints that
// with Redocly CLI (redocly.yaml: the recommended rules, every warning an
// error). Runs with PostgreSQL and Redis down too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { servedOpenApiDocument } from './openapi-document.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'notify-openapi-'));
let status = 1;
try {
  const file = path.join(dir, 'openapi.json');
  // Pretty-printed, so each problem Redocly reports points at a readable line.
  writeFileSync(file, JSON.stringify(await servedOpenApiDocument(), null, 2));
  const lint = spawnSync(path.join(root, 'node_modules/.bin/redocly'), ['lint', '--config', path.join(root, 'redocly.yaml'), file], {
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  status = lint.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
