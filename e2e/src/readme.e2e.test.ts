import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS } from '@notify/core/platform';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startApi, startWorker, type ApiService, type WorkerService } from './processes.js';
import { isCurl, matchExcerpt, matchLines, parseExcerpt, parseReadme, placeholders, type Bindings, type Example } from './readme-examples.js';

/**
 * The README runs: every ```sh example, in order, against the built API and
 * worker, each answer checked against the one the README documents right
 * after it. The convention is the README's own ("Every example here runs"):
 * - `localhost:3000` is the test's API, `localhost:3001` its worker's
 *   WORKER_HTTP_PORT, `change-me` its admin password, and
 *   `npm run keys --` runs the CLI's build directly (`npm run keys` only
 *   builds first);
 * - `<name>` in a command is the value captured as `<name>` from an earlier
 *   answer;
 * - a block after `<!-- not run by the README test: why -->` is skipped and
 *   counted (it may not hold a curl).
 */
const root = path.resolve(import.meta.dirname, '../..');
const CURL_TIMEOUT_S = 10;
/** A stream (`curl -N`) never ends by itself: it is read this long. */
const STREAM_SECONDS = 2;
/** A read (GET) may be answered by work still in progress (a delivery): it is retried this long until it matches. */
const SETTLE_MS = 10_000;
/**
 * What this test agrees to run: curl, the keys CLI, and setting shell
 * variables. Anything else (`npm ci`, `npm start`, docker) must sit in a
 * marked block, so a new example can never reinstall or restart the tree.
 */
const RUNNABLE = /^(curl\s|npm run keys -- |export [A-Z_]+=|[A-Z_]+=\$\(node -p )/;

let t: TestEnv;
let api: ApiService;
let worker: WorkerService;
let dir: string;

beforeAll(async () => {
  t = await createTestEnv();
  // As `npm start` runs it, with the settings of the README's "Try real email and
  // webhooks locally" (127.0.0.1 allowed); example.com, the documentation domain,
  // is exempt too so no example makes a DNS lookup (its providers stay `console`).
  const env = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,example.com,push.example.com' };
  [api, worker] = await Promise.all([startApi(t, env), startWorker(t, [...CHANNELS], env)]);
  dir = await mkdtemp(path.join(tmpdir(), 'readme-'));
});
afterAll(async () => {
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM')]);
  if (dir) await rm(dir, { recursive: true, force: true });
  await t?.close();
});

interface Ran {
  rc: number;
  status: number | null;
  body: string;
  stderr: string;
}

/** Runs one command in bash; shell variables (`export AUTH=...`) carry over to the next through a state file. */
async function run(command: string): Promise<Ran> {
  const state = path.join(dir, 'state.sh');
  const headers = path.join(dir, 'headers.txt');
  await writeFile(headers, '');
  const stream = /\s-N\s/.test(command) ? `--max-time ${STREAM_SECONDS}` : `--max-time ${CURL_TIMEOUT_S}`;
  const script = [
    // set -a: a plain `NAME=value` is exported too, so it reaches the state file.
    'set -a',
    `[ -f "${state}" ] && source "${state}"`,
    // -D keeps the status apart from the body, whatever options the example itself uses.
    `curl() { command curl ${stream} -D "${headers}" "$@"; }`,
    command,
    'readme_rc=$?',
    `export -p > "${state}"`,
    'exit $readme_rc',
  ].join('\n');
  const child = spawn('bash', ['-c', script], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // The CLI (`npm run keys`) works on the test's schema, as the API does.
      DATABASE_URL: t.env.DATABASE_URL,
      DATABASE_SCHEMA: t.env.DATABASE_SCHEMA,
      REDIS_URL: t.env.REDIS_URL,
      QUEUE_PREFIX: t.env.QUEUE_PREFIX,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let body = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (body += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const rc = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const statuses = [...(await readFile(headers, 'utf8')).matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => Number(m[1]));
  return { rc, status: statuses.at(-1) ?? null, body, stderr };
}

function substitute(command: string, values: Map<string, string>): string {
  return command
    .replaceAll('localhost:3000', new URL(api.url).host)
    .replaceAll('localhost:3001', new URL(worker.url).host)
    .replaceAll('change-me', ADMIN_PASSWORD)
    .replace(/^npm run keys --/, 'node packages/core/dist/cli/keys.js')
    .replace(/<([a-z_]+)>/g, (all, name: string) => values.get(name) ?? all);
}

function isRead(command: string): boolean {
  const method = /(?:-X|--request)\s+([A-Z]+)/.exec(command)?.[1];
  return (method ?? (/\s(-d|--data)/.test(command) ? 'POST' : 'GET')) === 'GET';
}

/** null when the answer is the documented one; captures go into `captured`. */
function check(ex: Example, ran: Ran, b: Bindings, captured: Map<string, string>): string | null {
  const expect = ex.expect;
  if (!isCurl(ex.command)) {
    if (ran.rc !== 0) return `exited ${ran.rc}`;
    return expect === null ? null : matchLines(expect.split('\n'), ran.body, b, captured);
  }
  if (expect === null) return 'no documented answer';
  const status = Number(expect.slice(0, 3));
  // curl's own exit 28 is the stream being cut, as intended.
  if (ran.rc !== 0 && !(ran.rc === 28 && /\s-N\s/.test(ex.command))) return `curl exited ${ran.rc}`;
  if (ran.status !== status) return `answered ${ran.status}, the README says ${status}`;
  const rest = expect.slice(3).trim();
  if (rest === '') return null;
  if (rest.startsWith('{') || rest.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(ran.body);
    } catch {
      return 'the answer is not JSON';
    }
    return matchExcerpt(parseExcerpt(rest).pattern, json, b, captured);
  }
  return matchLines([`...${rest}...`], ran.body.replace(/\n/g, ' '), b, captured);
}

describe('README examples', () => {
  it('run in order and answer as documented', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const examples = parseReadme(readme);
    const values = new Map<string, string>();
    const failures: string[] = [];
    let executed = 0;
    for (const ex of examples) {
      if (ex.skipped !== null) continue;
      const command = substitute(ex.command, values);
      const b: Bindings = { values, used: new Set(placeholders(ex.command).filter((n) => values.has(n))) };
      if (!RUNNABLE.test(ex.command)) {
        failures.push(`README.md:${ex.line} (${ex.section}): not a command this test runs; mark its block \`<!-- not run by the README test: why -->\`\n  $ ${ex.command}`);
        continue;
      }
      if (isCurl(ex.command) && ex.expect === null) {
        failures.push(`README.md:${ex.line} (${ex.section}): no documented answer (a "# STATUS ..." comment after it)\n  $ ${ex.command}`);
        continue;
      }
      const deadline = Date.now() + (isCurl(ex.command) && isRead(ex.command) ? SETTLE_MS : 0);
      let error: string | null;
      let ran: Ran;
      let captured: Map<string, string>;
      for (;;) {
        captured = new Map();
        ran = await run(command);
        try {
          error = check(ex, ran, b, captured);
        } catch (err) {
          error = (err as Error).message;
        }
        if (error === null || Date.now() > deadline) break;
        await sleep(200);
      }
      executed++;
      for (const [name, value] of captured) values.set(name, value);
      if (error !== null) {
        const unknown = placeholders(ex.command).filter((n) => !values.has(n));
        failures.push(
          [
            `README.md:${ex.line} (${ex.section}): ${error}`,
            `  $ ${ex.command.replace(/\n/g, '\n    ')}`,
            ...(unknown.length ? [`  uses ${unknown.map((n) => `<${n}>`).join(', ')}, which no earlier answer gives`] : []),
            `  answered: ${ran.body.slice(0, 600)}${ran.stderr ? `\n  stderr: ${ran.stderr.slice(0, 300)}` : ''}`,
          ].join('\n'),
        );
      }
    }
    const skipped = examples.filter((ex) => ex.skipped !== null);
    const reasons = [...new Set(skipped.map((ex) => `${ex.section}: ${ex.skipped}`))];
    console.log(`README: ${executed} examples run, ${skipped.length} skipped by design:\n  ${reasons.join('\n  ')}`);
    expect(failures.join('\n\n')).toBe('');
    // Nothing runnable hides behind a skip marker, and the parser did find the examples.
    expect(skipped.filter((ex) => isCurl(ex.command)).map((ex) => ex.line)).toEqual([]);
    expect(executed).toBeGreaterThan(50);
  }, 300_000);
});

describe('how the README runner reads an example', () => {
  const readme = [
    '## Section',
    '',
    '```sh',
    `curl -s -X POST localhost:3000/things -d '{`,
    `  "note": "a # in quotes is no comment"}'`,
    '# 201 {"id": "<thing_id>", "tags": [...],',
    '#      "owner": {"name": "Ada", ...}, ...}     a note after the excerpt',
    'curl -s localhost:3000/things/<thing_id>   # 200 {"id": "<thing_id>"}',
    'npm run keys -- list --app shop',
    '# <key_id>  nk_live_...  backend',
    '```',
    '',
    '<!-- not run by the README test: it needs Docker -->',
    '```sh',
    'docker compose up',
    '```',
  ].join('\n');

  it('joins a multi-line command, keeps a # inside quotes, and reads the answer under it or beside it', () => {
    const [post, get, keys, docker] = parseReadme(readme);
    expect(post?.command).toContain('"note": "a # in quotes is no comment"}\'');
    expect(post?.expect).toBe('201 {"id": "<thing_id>", "tags": [...], "owner": {"name": "Ada", ...}, ...}     a note after the excerpt');
    expect(get?.expect).toBe('200 {"id": "<thing_id>"}');
    expect(keys?.expect).toBe('<key_id>  nk_live_...  backend');
    expect(docker?.skipped).toBe('it needs Docker');
    expect([post, get, keys].map((ex) => ex?.skipped)).toEqual([null, null, null]);
  });

  it('captures a placeholder, then compares it where the command used it', () => {
    const values = new Map<string, string>();
    const captured = new Map<string, string>();
    const { pattern, rest } = parseExcerpt('{"id": "<thing_id>", "tags": [...], "owner": {"name": "Ada", ...}, ...}  note');
    expect(rest).toBe('note');
    expect(matchExcerpt(pattern, { id: 'abc', tags: [1], owner: { name: 'Ada', age: 36 }, more: true }, { values, used: new Set() }, captured)).toBeNull();
    expect(captured.get('thing_id')).toBe('abc');
    values.set('thing_id', 'abc');
    const compare = { values, used: new Set(['thing_id']) };
    expect(matchExcerpt(parseExcerpt('{"id": "<thing_id>"}').pattern, { id: 'other' }, compare, new Map())).toMatch(/expected <thing_id> = abc, got other/);
  });

  it('fails on a different value, a missing member, a shorter array or a wrong prefix', () => {
    const b = { values: new Map<string, string>(), used: new Set<string>() };
    const m = (excerpt: string, actual: unknown) => matchExcerpt(parseExcerpt(excerpt).pattern, actual, b, new Map());
    expect(m('{"status": "delivered"}', { status: 'pending' })).toMatch(/\$\.status: expected "delivered"/);
    expect(m('{"status": "delivered"}', {})).toMatch(/\$\.status: missing/);
    expect(m('[{"a": 1}, {"a": 2}]', [{ a: 1 }])).toMatch(/expected 2 elements, got 1/);
    expect(m('[{"a": 1}, ...]', [{ a: 1 }, { a: 5 }])).toBeNull();
    expect(m('{"secret": "whsec_..."}', { secret: 'nope' })).toMatch(/starting "whsec_"/);
    expect(m('{"n": 2, "ok": true, "x": null}', { n: 2, ok: true, x: null })).toBeNull();
  });

  it('matches printed lines in order, capturing words', () => {
    const captured = new Map<string, string>();
    const b = { values: new Map<string, string>(), used: new Set<string>() };
    const output = 'App demo (01a2)\nKey id 01a3\n\n  nk_live_secret\n\nStore it now';
    expect(matchLines(['App demo (...)', 'nk_live_<key>'], output, b, captured)).toBeNull();
    expect(captured.get('key')).toBe('secret');
    expect(matchLines(['nk_live_<key>', 'App demo (...)'], output, b, new Map())).toMatch(/no output line matches "App demo/);
  });
});
