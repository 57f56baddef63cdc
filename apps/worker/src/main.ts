// A worker process: serves the channels given on the command line or in WORKER_CHANNELS.
import { setTimeout as sleep } from 'node:timers/promises';
import { closeDb, concurrency, createDb, createLogger, createRedis, loadEnv, providersFor } from '@notify/core';
import { createChannelWorker } from './channel-worker.js';
import { parseChannels } from './channels-arg.js';

const env = loadEnv();
const log = createLogger(env.LOG_LEVEL, { service: 'worker' });
const channels = parseChannels(process.argv.slice(2), env.WORKER_CHANNELS);
const db = createDb({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: env.DATABASE_POOL_SIZE });
const redis = createRedis(env.REDIS_URL, 'worker');

const workers = channels.map((channel) => {
  const [provider] = providersFor(env, channel);
  if (!provider) throw new Error(`No provider for ${channel}`);
  return createChannelWorker({
    channel,
    connection: redis,
    prefix: env.QUEUE_PREFIX,
    concurrency: concurrency(env, channel),
    pool: db.pool,
    provider,
    log,
  });
});
log.info({ channels }, 'worker started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing in-flight jobs');
  const graceful = Promise.all(workers.map((w) => w.close())).then(() => true);
  const inTime = await Promise.race([graceful, sleep(env.SHUTDOWN_GRACE_SECONDS * 1000).then(() => false)]);
  if (!inTime) {
    log.warn('grace period over: stopping with jobs in flight (they will be retried as stalled)');
    await Promise.all(workers.map((w) => w.close(true)));
  }
  await closeDb(db);
  redis.disconnect();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
