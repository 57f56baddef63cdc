// `npm run keys -- create --app NAME [--name LABEL]`, `list --app NAME`, `revoke KEY_ID`.
import { userInfo } from 'node:os';
import { createKey, ensureApp, listKeys, revokeKey } from '../access/api-keys.js';
import type { AuditActor } from '../access/audit.js';
import { closeDb, createDb } from '../platform/db.js';
import { loadEnv } from '../platform/env.js';
import { createRedis, redisReady, redisTarget } from '../platform/redis.js';
import { parseCli, usageError } from './args.js';

const USAGE = `usage:
  npm run keys -- create --app NAME [--name LABEL]   create the app if needed, and a key for it
  npm run keys -- list --app NAME                    the app's keys (never the keys themselves)
  npm run keys -- revoke KEY_ID                      revoke a key at once
  npm run keys -- --help                             this text`;

const { positionals, values } = parseCli(USAGE, { app: { type: 'string' }, name: { type: 'string' } });
const [command, arg, ...extra] = positionals;

/** What is wrong with the arguments, or null; checked before loading the environment or connecting. */
function problem(): string | null {
  const unexpected = (allowed: { arg: boolean; app: boolean; name: boolean }) =>
    (allowed.arg ? extra[0] : arg) ?? (!allowed.app && values.app !== undefined ? '--app' : !allowed.name && values.name !== undefined ? '--name' : undefined);
  switch (command) {
    case undefined:
      return 'Missing command';
    case 'create':
    case 'list': {
      if (values.app === undefined) return `${command} needs --app NAME`;
      const extraArg = unexpected({ arg: false, app: true, name: command === 'create' });
      return extraArg === undefined ? null : `Unexpected argument for ${command}: ${extraArg}`;
    }
    case 'revoke': {
      if (arg === undefined) return 'revoke needs a KEY_ID';
      const extraArg = unexpected({ arg: true, app: false, name: false });
      return extraArg === undefined ? null : `Unexpected argument for revoke: ${extraArg}`;
    }
    default:
      return `Unknown command: ${command}`;
  }
}
const wrong = problem();
if (wrong !== null) usageError(USAGE, wrong);
const env = loadEnv();
/** The OS user who runs the command ('cli' where the system has no name for it, as in some containers). */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}
// Key changes made here go to the key's app's audit log like the API's.
const by: AuditActor = { type: 'cli', id: osUser(), requestId: null };
const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: 2 });
try {
  if (command === 'create' && values.app !== undefined) {
    const appId = await ensureApp(db, values.app);
    const key = await createKey(db, appId, values.name ?? null, undefined, by);
    console.log(`App ${values.app} (${appId})\nKey id ${key.id}\n\n  ${key.key}\n\nStore it now: only its hash is kept. Use it as: Authorization: Bearer ${key.prefix}...`);
  } else if (command === 'list' && values.app !== undefined) {
    const app = await db.prisma.app.findUnique({ where: { name: values.app } });
    if (!app) throw new Error(`No app named ${values.app}`);
    for (const k of await listKeys(db, app.id)) {
      console.log(`${k.id}  ${k.prefix}...  ${k.name ?? ''}  created ${k.created_at}${k.revoked_at ? `  REVOKED ${k.revoked_at}` : ''}`);
    }
  } else if (command === 'revoke' && arg !== undefined) {
    const redis = createRedis(redisTarget(env), 'producer');
    try {
      await redisReady(redis);
      await revokeKey(db, redis, arg, undefined, by);
      console.log(`Revoked ${arg}`);
    } finally {
      redis.disconnect();
    }
  }
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await closeDb(db);
}
