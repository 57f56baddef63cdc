// `npm run dashboard:explain`: seeds 1,000,000 deliveries (over the last day)
// into a scratch schema and runs each dashboard query under EXPLAIN ANALYZE,
// printing its plan and execution time. The schema is dropped afterwards.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyMigrations, loadEnv, migrationsDir } from '@notify/core/platform';
import { DASHBOARD_SQL } from '@notify/core/observability';

const USAGE = `usage: npm run dashboard:explain [-- DELIVERIES]
  seeds DELIVERIES deliveries (default 1000000, even) into a scratch schema of DATABASE_URL and prints each dashboard query's plan`;
function usageError(problem: string): never {
  console.error(`${problem}\n\n${USAGE}`);
  process.exit(2);
}
function parse() {
  try {
    return parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    return usageError((err as Error).message);
  }
}
const parsed = parse();
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [count = '1000000', ...extra] = parsed.positionals;
// Half as many notifications as deliveries, two channels each: an odd or non-numeric count is refused, not rounded.
if (extra.length > 0) usageError(`Unexpected argument: ${extra[0]}`);
if (!/^[1-9]\d*$/.test(count) || Number(count) % 2 !== 0) usageError(`DELIVERIES must be a positive even number, not ${count}`);
const DELIVERIES = Number(count);
const env = loadEnv();
const schema = `explain_${randomBytes(4).toString('hex')}`;
const client = new pg.Client({ connectionString: env.DATABASE_URL });
await client.connect();

const uuid7 = (ts: string) => `(
  substr(lpad(to_hex((extract(epoch FROM ${ts}) * 1000)::bigint), 12, '0'), 1, 8) || '-' ||
  substr(lpad(to_hex((extract(epoch FROM ${ts}) * 1000)::bigint), 12, '0'), 9, 4) || '-7' ||
  substr(md5(random()::text), 1, 3) || '-8' || substr(md5(random()::text), 1, 3) || '-' || substr(md5(random()::text), 1, 12))::uuid`;

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  console.error(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

try {
  await applyMigrations(client, migrationsDir(), schema);
  await client.query(`SET search_path TO "${schema}"`);
  await client.query(`INSERT INTO apps (id, name) VALUES ('app', 'explain')`);
  const notifications = DELIVERIES / 2;
  await timed(`seed ${notifications} notifications`, () =>
    client.query(`INSERT INTO notifications (id, app_id, user_id, message, priority, status, created_at, updated_at)
      SELECT ${uuid7('ts')}, 'app', 'user-' || (i % 50000), 'seeded', (ARRAY['critical','high','normal','low'])[1 + i % 4]::priority,
        'delivered', ts, ts
      FROM (SELECT i, now() - (random() * interval '24 hours') AS ts FROM generate_series(1, ${notifications}) i) s`),
  );
  await timed(`seed ${DELIVERIES} deliveries`, () =>
    client.query(`INSERT INTO deliveries (id, app_id, notification_id, channel, status, attempts, provider, last_error_code, created_at, updated_at, delivered_at, failed_at)
      SELECT ${uuid7('created_at')}, 'app', id, channel::channel,
        CASE WHEN r < 0.90 THEN 'delivered' WHEN r < 0.95 THEN 'failed' ELSE 'skipped' END::delivery_status,
        CASE WHEN r < 0.95 THEN 1 ELSE 0 END, 'provider-' || channel,
        CASE WHEN r >= 0.90 AND r < 0.95 THEN 'error_' || (floor(random() * 5))::int END,
        created_at, created_at, created_at + interval '200 ms', CASE WHEN r >= 0.90 AND r < 0.95 THEN created_at + interval '1 s' END
      FROM (SELECT n.id, n.created_at, c.channel, random() AS r FROM notifications n CROSS JOIN (VALUES ('email'), ('sms')) c(channel)) s`),
  );
  await timed('seed attempts', () =>
    client.query(`INSERT INTO delivery_attempts (delivery_id, attempt, provider, outcome, error_code, duration_ms, created_at)
      SELECT id, 1, provider, CASE WHEN status = 'delivered' THEN 'delivered' ELSE 'permanent_error' END::attempt_outcome, last_error_code, 20, created_at
      FROM deliveries WHERE status IN ('delivered', 'failed')`),
  );
  await timed('roll up delivery_stats', () =>
    client.query(`INSERT INTO delivery_stats (app_id, span, bucket, channel, priority, outcome, provider, error_code, count, latency)
      SELECT d.app_id, s.span, date_bin(make_interval(mins => s.span), d.created_at, 'epoch'), d.channel, n.priority, d.status::text,
        coalesce(d.provider, ''), coalesce(d.last_error_code, ''),
        count(*)::int, CASE WHEN d.status::text = 'delivered' THEN ARRAY[0,0,0,0,count(*)::int,0,0,0,0,0,0,0,0,0,0,0] END
      FROM deliveries d JOIN notifications n ON n.id = d.notification_id CROSS JOIN (VALUES (1), (15)) s(span)
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
      UNION ALL
      SELECT d.app_id, s.span, date_bin(make_interval(mins => s.span), d.created_at, 'epoch'), d.channel, n.priority, 'accepted', '', '', count(*)::int, NULL
      FROM deliveries d JOIN notifications n ON n.id = d.notification_id CROSS JOIN (VALUES (1), (15)) s(span)
      GROUP BY 1, 2, 3, 4, 5`),
  );
  await timed('analyze', () => client.query('ANALYZE'));
  const { rows: size } = await client.query<{ deliveries: number; stats: number }>(
    'SELECT (SELECT count(*) FROM deliveries)::int AS deliveries, (SELECT count(*) FROM delivery_stats)::int AS stats',
  );
  const someId = (await client.query<{ id: string; user_id: string }>('SELECT id, user_id FROM notifications LIMIT 1')).rows[0]!;
  console.log(`# ${size[0]!.deliveries} deliveries, ${size[0]!.stats} delivery_stats rows\n`);

  const queries: [string, string, unknown[]][] = [
    ['totals, last day', DASHBOARD_SQL.totals, ['app', 15, 1440]],
    ['totals, last hour', DASHBOARD_SQL.totals, ['app', 1, 60]],
    ['chart series, last day (15 min steps)', DASHBOARD_SQL.series, ['app', 15, 1440]],
    ['chart series, last hour (1 min steps)', DASHBOARD_SQL.series, ['app', 1, 60]],
    ['latency histograms, last day', DASHBOARD_SQL.latency, ['app', 15, 1440]],
    ['failures by provider and error, last day', DASHBOARD_SQL.failures, ['app', 15, 1440]],
    ['failed deliveries, newest 50', DASHBOARD_SQL.failed, ['app', null, null, null, 50]],
    ['failed deliveries of one error code', DASHBOARD_SQL.failed, ['app', 'sms', 'provider-sms', 'error_3', 50]],
    // The timeline's lookups, as Prisma issues them:
    ["timeline: a user's latest notifications", `SELECT * FROM notifications WHERE app_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT 20`, ['app', someId.user_id]],
    ["timeline: one notification's deliveries", `SELECT * FROM deliveries WHERE notification_id = ANY($1::uuid[])`, [[someId.id]]],
    ['timeline: their attempts', `SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE notification_id = $1) ORDER BY id`, [someId.id]],
  ];
  const summary: string[] = [];
  for (const [name, sql, params] of queries) {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    const plan = rows.map((r) => r['QUERY PLAN']);
    const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan.join('\n'))?.[1]);
    console.log(`## ${name}: ${ms.toFixed(2)} ms\n${plan.join('\n')}\n`);
    summary.push(`| ${name} | ${ms.toFixed(2)} |`);
  }
  console.log(`| query | execution ms |\n|---|---:|\n${summary.join('\n')}`);
} finally {
  if (!process.argv.includes('--keep')) await client.query(`DROP SCHEMA "${schema}" CASCADE`);
  await client.end();
}
