// `npm start`: finds PostgreSQL and Redis (see start-services.mjs), applies
// migrations, then runs the API and one worker process per channel, as in
// production but on one machine. Ctrl-C / SIGTERM stops them all gracefully.
// Settings come from the environment (see .env.example); START_DEFAULT_DATABASE_URL
// and START_DEFAULT_REDIS_URL change where it looks when DATABASE_URL / REDIS_URL are unset.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { DEFAULTS, planServices, startContainers } from './start-services.mjs';
import { takeNoArguments } from './no-arguments.mjs';
// The one channel list, from the build `npm start` makes first (this file alone, not all of core).
import { CHANNELS } from '../packages/core/dist/platform/channels.js';

const root = path.resolve(import.meta.dirname, '..');

const USAGE = 'usage: npm start\n  migrations, then the API and one worker per channel; takes no arguments, settings come from the environment';
takeNoArguments(USAGE);

const plan = await planServices({
  set: { database: process.env.DATABASE_URL, redis: process.env.REDIS_URL },
  defaults: {
    database: process.env.START_DEFAULT_DATABASE_URL || DEFAULTS.database,
    redis: process.env.START_DEFAULT_REDIS_URL || DEFAULTS.redis,
  },
});
if (plan.error) {
  console.error(plan.error);
  process.exit(1);
}
for (const note of plan.notes) console.log(note);
let stopContainers = async () => {};
if (plan.containers.length > 0) {
  try {
    const started = await startContainers(plan.containers);
    Object.assign(plan.urls, started.urls);
    stopContainers = started.stop;
    for (const kind of plan.containers) console.log(`${kind === 'database' ? 'PostgreSQL' : 'Redis'} container ready at ${started.urls[kind]}`);
  } catch (err) {
    console.error(`Could not start the containers: ${err.message}`);
    process.exit(1);
  }
}
// Every process gets the URLs decided above, so all of them use the same servers.
const env = { ...process.env, DATABASE_URL: plan.urls.database, REDIS_URL: plan.urls.redis };

const migrate = spawnSync(process.execPath, ['packages/core/dist/cli/migrate.js'], { cwd: root, stdio: 'inherit', env });
if (migrate.status !== 0) {
  await stopContainers();
  process.exit(migrate.status ?? 1);
}

if (!process.env.ADMIN_PASSWORD) console.log('ADMIN_PASSWORD is not set: Bull Board (/admin/queues) and /metrics stay locked.');
console.log('API keys: npm run keys -- create --app <name>');

// Five workers on one host: each its own /health, /ready and /metrics port, counting up from WORKER_HTTP_PORT.
const workerPort = Number(process.env.WORKER_HTTP_PORT || 3001);
const workerEnv = (i) => ({ ...env, WORKER_HTTP_PORT: String(workerPort === 0 ? 0 : workerPort + i) });
const children = [
  spawn(process.execPath, ['apps/api/dist/main.js'], { cwd: root, stdio: 'inherit', env }),
  ...CHANNELS.map((channel, i) => spawn(process.execPath, ['apps/worker/dist/main.js', '--channel', channel], { cwd: root, stdio: 'inherit', env: workerEnv(i) })),
];

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
let exitCode = 0;
for (const child of children) {
  child.on('exit', async (code) => {
    if (code) exitCode = code;
    // One process dying takes the others down: a supervisor should restart the set.
    stop('SIGTERM');
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
      // The containers stop with the service; their volumes keep the data for the next start.
      await stopContainers();
      process.exit(exitCode);
    }
  });
}
