// Platform: the bottom layer every other folder builds on (env, db, redis, logger, errors, ids, limits, queues, channel list, group commit, SSRF, migrations, process lifecycle).
export * from './channels.js';
export * from './db.js';
export * from './env.js';
export * from './errors.js';
export * from './ids.js';
export * from './limits.js';
export * from './logger.js';
export * from './migrate.js';
export * from './group-commit.js';
export * from './queues.js';
export * from './redis.js';
export * from './ssrf.js';
export * from './lifecycle.js';
export type { Pool } from 'pg';
