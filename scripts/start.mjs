// `npm start`: applies migrations, then runs the API and one worker process per
// channel, as in production but on one machine. Ctrl-C / SIGTERM stops them all
// gracefully. Settings come from the environment (see .env.example).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const CHANNELS = ['email', 'sms', 'push', 'in_app', 'webhook'];

const USAGE = 'usage: npm start\n  migrations, then the API and one worker per channel; takes no arguments, settings come from the environment';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`Unexpected argument: ${args[0]}\n\n${USAGE}`);
  process.exit(2);
}

const migrate = spawnSync(process.execPath, ['packages/core/dist/cli/migrate.js'], { cwd: root, stdio: 'inherit' });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

if (!process.env.ADMIN_PASSWORD) console.log('ADMIN_PASSWORD is not set: Bull Board (/admin/queues) and /metrics stay locked.');
console.log('API keys: npm run keys -- create --app <name>');

const children = [
  spawn(process.execPath, ['apps/api/dist/main.js'], { cwd: root, stdio: 'inherit' }),
  ...CHANNELS.map((channel) =>
    spawn(process.execPath, ['apps/worker/dist/main.js', '--channel', channel], { cwd: root, stdio: 'inherit' }),
  ),
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
  child.on('exit', (code) => {
    if (code) exitCode = code;
    // One process dying takes the others down: a supervisor should restart the set.
    stop('SIGTERM');
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
  });
}
