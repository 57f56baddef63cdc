// A mass send's dry run: what a topic or bulk send would create, planned as the send plans it, writing nothing.
import { AppError, notFound } from '../platform/errors.js';
import { checkRendersInEveryLocale, prepareNotifications, resolveRequest, type AcceptTarget, type NotificationDeps } from './accept.js';
import { FANOUT_CHUNK } from './batches.js';
import type { PlannedNotification } from './plan.js';
import type { NotificationSpec, SpecInput } from './spec.js';
import type { BulkBody, DryRun } from '../schemas/notifications.js';

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
