// `npm run db:migrate`: creates the database if needed and applies pending migrations.
import { loadEnv } from '../platform/env.js';
import { migrateDatabase } from '../platform/migrate.js';
import { parseCli, usageError } from './args.js';

const USAGE = `usage: npm run db:migrate
  creates the database of DATABASE_URL if needed and applies pending migrations (takes no arguments)`;

const { positionals } = parseCli(USAGE, {});
if (positionals.length > 0) usageError(USAGE, `Unexpected argument: ${positionals[0]}`);
const env = loadEnv();
try {
  const applied = await migrateDatabase(env.DATABASE_URL, env.DATABASE_SCHEMA);
  console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date');
} catch (err) {
  console.error(`Migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
