// `npm run db:migrate`: creates the database if needed and applies pending migrations.
import pg from 'pg';
import { loadEnv } from '../env.js';
import { applyMigrations, ensureDatabase, migrationsDir } from '../migrate.js';

const env = loadEnv();
try {
  await ensureDatabase(env.DATABASE_URL);
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    const applied = await applyMigrations(client, migrationsDir(), env.DATABASE_SCHEMA);
    console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Database is up to date');
  } finally {
    await client.end();
  }
} catch (err) {
  console.error(`Migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
