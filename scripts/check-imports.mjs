#!/usr/bin/env node
// Checks the import graph of packages/core, packages/inbox, packages/client, apps/api and apps/worker (`npm run check:cycles`, run by CI):
//   1. no import cycle, type-only imports included: a cycle of types still ties two files together;
//   2. dependencies point down: an app imports core only through @notify/core (never by a relative path) and
//      never another app; core never imports an app; core's platform/ imports nothing from another core folder;
//      the browser inbox (packages/inbox) imports only its own files (no Node built-in, no other package: it runs
//      in browsers and has no runtime dependency), vitest aside in its tests; the typed client (packages/client) imports
//      its own files, openapi-fetch and, for verifyWebhook only, node:crypto (never core: it ships to other codebases).
// dpdm parses and resolves the imports; the rules below are ours. Exits 1 naming every breach.
import path from 'node:path';
import { parseCircular, parseDependencyTree, prettyCircular } from 'dpdm';
import { takeNoArguments } from './no-arguments.mjs';

takeNoArguments('usage: node scripts/check-imports.mjs   (checks import cycles and layer rules; takes no arguments)');

const root = path.resolve(import.meta.dirname, '..');
const core = 'packages/core/src/';
const inbox = 'packages/inbox/src/';
const client = 'packages/client/src/';
const CLIENT_PACKAGES = ['openapi-fetch'];
const apps = ['apps/api/src/', 'apps/worker/src/'];

const tree = await parseDependencyTree(['packages/core/src/**/*.ts', `${inbox}**/*.ts`, `${client}**/*.ts`, ...apps.map((a) => `${a}**/*.ts`)], {
  cwd: root,
  context: root,
  // Prisma's generated client has cycles of its own; it is rewritten by `prisma generate`, never by hand.
  exclude: /node_modules|packages\/core\/src\/generated\//,
  transform: false,
});

const failures = [];

const cycles = parseCircular(tree);
if (cycles.length > 0) failures.push(`${cycles.length} import cycle(s):\n${prettyCircular(cycles, '  ')}`);

const appOf = (file) => apps.find((a) => file.startsWith(a));
const isTest = (file) => /\.test\.ts$/.test(file) || file.includes('/testing/');
const folderOf = (file) => file.slice(core.length).split('/')[0];

const breaches = [];
for (const [file, deps] of Object.entries(tree)) {
  for (const dep of deps ?? []) {
    const target = dep.id && path.relative(root, path.resolve(root, dep.id));
    const where = `${file} imports '${dep.request}'`;
    if (file.startsWith(core)) {
      if (/^@notify\/(api|worker)(\/|$)/.test(dep.request) || (target && appOf(target))) breaches.push(`${where}: core never imports an app`);
      // Tests may use the shared test helpers (testing/); the platform's code itself sits at the bottom.
      if (folderOf(file) === 'platform' && !isTest(file) && target?.startsWith(core) && !['platform', 'generated'].includes(folderOf(target))) {
        breaches.push(`${where}: platform/ imports nothing from the other core folders`);
      }
    }
    if (file.startsWith(inbox) && !target?.startsWith(inbox) && !(isTest(file) && dep.request === 'vitest')) {
      breaches.push(`${where}: the browser inbox imports only its own files`);
    }
    if (file.startsWith(client) && !target?.startsWith(client) && !CLIENT_PACKAGES.includes(dep.request)) {
      const allowed =
        (dep.request === 'node:crypto' && file === `${client}webhooks.ts`) ||
        (isTest(file) && (['vitest', 'standardwebhooks'].includes(dep.request) || dep.request.startsWith('node:')));
      if (!allowed) breaches.push(`${where}: the client imports only its own files, openapi-fetch, and node:crypto in webhooks.ts`);
    }
    const app = appOf(file);
    if (app) {
      if (dep.request.startsWith('.') && target?.startsWith('packages/')) breaches.push(`${where}: an app imports core as @notify/core/..., not by path`);
      const other = target && appOf(target);
      if (other && other !== app) breaches.push(`${where}: an app never imports another app`);
      if (/^@notify\/(api|worker)(\/|$)/.test(dep.request)) breaches.push(`${where}: an app never imports another app`);
    }
  }
}
if (breaches.length > 0) failures.push(`${breaches.length} import(s) against the dependency direction:\n${breaches.map((b) => `  ${b}`).join('\n')}`);

const files = Object.keys(tree).filter((f) => !f.includes('node_modules')).length;
if (failures.length > 0) {
  console.error(`check-imports: ${files} files\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`check-imports: ${files} files, no import cycle, dependencies point down (apps -> core, platform at the bottom)`);
