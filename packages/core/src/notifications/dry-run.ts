// Guard rails before a mass send: what a topic or bulk send would create (a dry run, writing nothing), and the
// confirmation a send over FANOUT_CONFIRM_THRESHOLD recipients must carry.
import { AppError, notFound } from '../platform/errors.js';
import { checkRendersInEveryLocale, prepareNotifications, resolveRequest, type AcceptTarget, type NotificationDeps } from './accept.js';
import { FANOUT_CHUNK } from './batches.js';
import type { PlannedNotification } from './plan.js';
import type { NotificationSpec, SpecInput } from './spec.js';
import type { BulkBody, DryRun } from '../schemas/notifications.js';

/** FANOUT_CONFIRM_THRESHOLD's default: a send to more recipients needs `confirm_recipients`. */
export const DEFAULT_CONFIRM_THRESHOLD = 10_000;

/** Deliveries per channel, queued or skipped, as the real send's planning makes them. */
function tally(into: DryRun['deliveries'], planned: PlannedNotification[]): void {
  for (const n of planned) {
    for (const d of n.deliveries) {
      const counts = into[d.channel] ?? { queued: 0, skipped: 0 };
      counts[d.status]++;
      into[d.channel] = counts;
    }
  }
}

function emptyTally(spec: NotificationSpec): DryRun['deliveries'] {
  return Object.fromEntries(spec.channels.map((c) => [c, { queued: 0, skipped: 0 }]));
}

/** Plans a group of recipients exactly as the send would (its preferences, contacts, erasure, category), keeping only the counts. */
async function planCounts(deps: NotificationDeps, spec: NotificationSpec, targets: AcceptTarget[], into: DryRun['deliveries']): Promise<void> {
  const { planned, failures } = await prepareNotifications(deps.db.pool, spec, targets);
  if (failures.length > 0) {
    throw new AppError(
      'validation_failed',
      'The template does not render for some recipients',
      failures.flatMap((f) => f.details ?? []),
    );
  }
  tally(into, planned);
}

/**
 * A bulk send's dry run: the same checks and planning as createBulk (a
 * repeated recipient or one the template cannot render is still a 422), and
 * nothing written or queued.
 */
export async function dryRunBulk(deps: NotificationDeps, appId: string, body: BulkBody): Promise<DryRun> {
  const seen = new Set<string>();
  for (const r of body.recipients) {
    if (seen.has(r.user_id)) throw new AppError('validation_failed', 'The request is not valid', [{ path: 'recipients', message: `repeats user ${r.user_id}` }]);
    seen.add(r.user_id);
  }
  const { recipients, ...input } = body;
  const spec = await resolveRequest(deps, appId, input);
  const deliveries = emptyTally(spec);
  await planCounts(
    deps,
    spec,
    recipients.map((r, i) => ({ userId: r.user_id, path: `recipients.${i}.`, data: r.data })),
    deliveries,
  );
  return { dry_run: true, recipients: recipients.length, deliveries };
}

/**
 * A topic send's dry run: the subscribers walked in the fan-out's chunks and
 * each chunk planned as fanoutStep would plan it, so memory stays bounded
 * whatever the topic's size. Subscribers who join or leave before the real
 * send change its count.
 */
export async function dryRunTopic(deps: NotificationDeps, appId: string, topic: string, input: SpecInput): Promise<DryRun> {
  await requireTopic(deps, appId, topic);
  const spec = await resolveRequest(deps, appId, input);
  await checkRendersInEveryLocale(spec);
  const deliveries = emptyTally(spec);
  let recipients = 0;
  let after = '';
  for (;;) {
    const { rows } = await deps.db.pool.query<{ user_id: string }>(
      'SELECT user_id FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2 AND user_id > $3 ORDER BY user_id LIMIT $4',
      [appId, topic, after, FANOUT_CHUNK],
    );
    if (rows.length === 0) break;
    await planCounts(
      deps,
      spec,
      rows.map((r) => ({ userId: r.user_id, path: '' })),
      deliveries,
    );
    recipients += rows.length;
    after = rows.at(-1)!.user_id;
  }
  return { dry_run: true, recipients, deliveries };
}

async function requireTopic(deps: NotificationDeps, appId: string, topic: string): Promise<void> {
  const exists = await deps.db.prisma.topic.findUnique({ where: { appId_key: { appId, key: topic } } });
  if (!exists) throw notFound('Topic');
}

/** How many recipients a topic send would reach now (its dry run's `recipients`). */
export async function topicRecipientCount(deps: Pick<NotificationDeps, 'db'>, appId: string, topic: string): Promise<number> {
  const { rows } = await deps.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM topic_subscriptions WHERE app_id = $1 AND topic_key = $2', [appId, topic]);
  return rows[0]?.n ?? 0;
}

/**
 * Refuses (422) a send over the threshold unless `confirm` is the number of
 * recipients it reaches, and any send whose `confirm` is not that number: a
 * mistaken audience is caught before anything is written.
 */
export function confirmRecipients(recipients: number, confirm: number | undefined, threshold: number): void {
  if (confirm !== undefined && confirm !== recipients) {
    throw new AppError('validation_failed', `confirm_recipients is ${confirm} but this send reaches ${recipients} recipients; check the audience with a dry run`, [
      { path: 'confirm_recipients', message: `must be ${recipients}, the number of recipients` },
    ]);
  }
  if (confirm === undefined && recipients > threshold) {
    throw new AppError(
      'validation_failed',
      `This send reaches ${recipients} recipients, more than the ${threshold} that need a confirmation: send it again with "confirm_recipients": ${recipients} (a dry run tells the count)`,
      [{ path: 'confirm_recipients', message: `required over ${threshold} recipients` }],
    );
  }
}

/** The guard-rail fields of a mass send's body. */
export interface SendGuards {
  dry_run?: boolean | undefined;
  confirm_recipients?: number | undefined;
}

/**
 * Before a topic send: its dry run when asked (the route answers it, 200),
 * else null once the audience is confirmed (confirmRecipients).
 */
export async function guardTopicSend(deps: NotificationDeps, appId: string, topic: string, input: SpecInput, guards: SendGuards, threshold: number): Promise<DryRun | null> {
  if (guards.dry_run) return dryRunTopic(deps, appId, topic, input);
  // One index-only count on the subscriptions' primary key, paid by topic sends only (never by single sends).
  confirmRecipients(await topicRecipientCount(deps, appId, topic), guards.confirm_recipients, threshold);
  return null;
}

/** The same for a bulk send, whose recipients are the request's. */
export async function guardBulkSend(deps: NotificationDeps, appId: string, body: BulkBody, guards: SendGuards, threshold: number): Promise<DryRun | null> {
  if (guards.dry_run) return dryRunBulk(deps, appId, body);
  confirmRecipients(body.recipients.length, guards.confirm_recipients, threshold);
  return null;
}
