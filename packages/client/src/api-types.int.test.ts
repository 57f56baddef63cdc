import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('the committed src/generated/api.ts is what the API serves today (else: npm run generate:types -w @notify/client)', async () => {
  const packageDir = new URL('..', import.meta.url);
  const { stdout } = await run('npx', ['tsx', '--conditions=source', 'scripts/generate-api-types.ts', '--stdout'], { cwd: packageDir, maxBuffer: 64 * 1024 * 1024 });
  expect(stdout.length).toBeGreaterThan(1000);
  expect(stdout).toBe(await readFile(new URL('generated/api.ts', import.meta.url), 'utf8'));
}, 120_000);
