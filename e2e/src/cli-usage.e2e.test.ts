import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every command-line entry point (packages/core/src/cli, built, and scripts/):
 * a bad or missing argument prints what is wrong and the usage to stderr and
 * exits 2, with no stack trace; `--help` prints the usage to stdout and exits 0.
 * Nothing answers at the database and Redis addresses given, so a command that
 * connected before checking its arguments would exit 1 instead.
 */
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');

const COMMANDS: Record<string, string[]> = {
  keys: ['packages/core/dist/cli/keys.js'],
  'db:migrate': ['packages/core/dist/cli/migrate.js'],
  start: ['scripts/start.mjs'],
  'dev:sinks': ['scripts/dev-sinks.mjs'],
  'db:diff': ['scripts/migration-diff.mjs'],
  'db:generate': ['scripts/prisma-generate.mjs'],
  'dashboard:explain': [tsx, '--conditions=source', 'scripts/dashboard-explain.ts'],
};

function run(command: string, args: string[]) {
  const result = spawnSync(process.execPath, [...COMMANDS[command]!, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH, DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const STACK_FRAME = /^\s+at .+[:(]/m;

const BAD: [string, string[], RegExp][] = [
  ['keys', ['revoke', '--x'], /Unknown option '--x'/],
  ['keys', [], /Missing command/],
  ['keys', ['frobnicate'], /Unknown command: frobnicate/],
  ['keys', ['create'], /create needs --app NAME/],
  ['keys', ['create', '--app'], /argument missing/],
  ['keys', ['list', '--app', 'shop', '--name', 'x'], /Unexpected argument for list: --name/],
  ['keys', ['revoke'], /revoke needs a KEY_ID/],
  ['keys', ['revoke', 'a', 'b'], /Unexpected argument for revoke: b/],
  ['db:migrate', ['--x'], /Unknown option '--x'/],
  ['db:migrate', ['now'], /Unexpected argument: now/],
  ['start', ['--x'], /Unexpected argument: --x/],
  ['dev:sinks', ['--x'], /Unexpected argument: --x/],
  ['db:diff', [], /Missing --name/],
  ['db:diff', ['--name', 'Not-Snake'], /snake_case/],
  ['db:diff', ['--x'], /Unknown option '--x'/],
  ['db:generate', ['--x'], /Unknown option '--x'/],
  ['dashboard:explain', ['lots'], /DELIVERIES must be a positive even number/],
  ['dashboard:explain', ['--x'], /Unknown option '--x'/],
];

describe('command-line usage', () => {
  it.each(BAD)('%s %j prints the usage to stderr and exits 2', (command, args, problem) => {
    const r = run(command, args);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toContain('usage:');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it.each(Object.keys(COMMANDS))('%s --help prints the usage and exits 0', (command) => {
    const r = run(command, ['--help']);
    expect(r.stdout).toMatch(/^usage:\s/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
