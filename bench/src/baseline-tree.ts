import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { progress } from './progress.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** A built copy of the code at another commit, to run beside this one. */
export interface CodeTree {
  /** Where apps/api/dist and apps/worker/dist are. */
  root: string;
  commit: string;
  /** The first line of its commit message. */
  subject: string;
}

/** This checkout, as built by `npm run bench`. */
export async function currentTree(): Promise<CodeTree> {
  return { root, ...(await commitOf('HEAD')) };
}

/**
 * The code of `rev` built under the system's temporary folder, reused by later
 * runs: the files from `git archive` (no worktree, nothing written to this
 * checkout), this checkout's installed packages linked in (npm is not run) with
 * the workspace links pointing into the copy, then `prisma generate` and the
 * same `tsc` builds as `turbo run build` for core, the API and the worker.
 * Valid while the commit's dependencies are the ones installed here.
 */
export async function baselineTree(rev: string): Promise<CodeTree> {
  const { commit, subject } = await commitOf(rev);
  const dir = path.join(tmpdir(), `notify-bench-baseline-${commit.slice(0, 12)}`);
  const marker = path.join(dir, '.bench-built');
  if (existsSync(marker)) {
    progress(`baseline ${commit.slice(0, 12)}: reusing the build in ${dir}`);
    return { root: dir, commit, subject };
  }
  progress(`baseline ${commit.slice(0, 12)} (${subject}): building in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run('sh', ['-c', `git archive --format=tar "$1" | tar -x -C "$2"`, 'sh', commit, dir], { cwd: root });
  linkPackages(dir);
  const node = (args: string[], cwd = dir) => run(process.execPath, args, { cwd, maxBuffer: 16 * 2 ** 20 });
  await node([path.join(dir, 'scripts/prisma-generate.mjs')], path.join(dir, 'packages/core'));
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  await node([tsc, '-p', 'packages/core/tsconfig.build.json']);
  await Promise.all([node([tsc, '-p', 'apps/api/tsconfig.build.json']), node([tsc, '-p', 'apps/worker/tsconfig.build.json'])]);
  writeFileSync(marker, `${commit}\n`);
  return { root: dir, commit, subject };
}

/** node_modules of the copy: every installed package linked to this checkout's, except the workspaces, which link inside the copy. */
function linkPackages(dir: string): void {
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(path.join(root, 'node_modules'))) {
    if (entry === '@notify' || entry === '.bin') continue;
    symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry));
  }
  mkdirSync(path.join(modules, '@notify'));
  for (const entry of readdirSync(path.join(root, 'node_modules/@notify'))) {
    const target = path.relative(root, realpathSync(path.join(root, 'node_modules/@notify', entry)));
    if (existsSync(path.join(dir, target))) symlinkSync(path.join('../..', target), path.join(modules, '@notify', entry));
  }
  // Workspaces with packages of their own (a version differing from the root's).
  for (const workspace of ['apps/api', 'apps/worker', 'packages/core']) {
    const own = path.join(root, workspace, 'node_modules');
    if (existsSync(own) && existsSync(path.join(dir, workspace))) symlinkSync(own, path.join(dir, workspace, 'node_modules'));
  }
}

async function commitOf(rev: string): Promise<{ commit: string; subject: string }> {
  const { stdout } = await run('git', ['log', '-1', '--format=%H%n%s', `${rev}^{commit}`], { cwd: root });
  const [commit = '', subject = ''] = stdout.trim().split('\n');
  return { commit, subject };
}

/** Applies the tree's own migrations to a schema (its migrate command, as `npm run db:migrate` at that commit). */
export function migrateWith(tree: CodeTree): (url: string, schema: string) => Promise<void> {
  return async (url, schema) => {
    await run(process.execPath, [path.join(tree.root, 'packages/core/dist/cli/migrate.js')], {
      cwd: tree.root,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, DATABASE_SCHEMA: schema },
    });
  };
}
