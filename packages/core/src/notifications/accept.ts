// Accepting a notification, one function per step (replay a keyed request, resolve, load recipients, render, plan,
// insert, enqueue after commit), shared by the four ways in: single (writer.ts), keyed (notifications.ts), bulk and
// topic fan-out (batches.ts).
import type { Queue } from 'bullmq';
import type { Db, Queryable } from '../platform/db.js';
import { AppError, type ErrorDetail } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { ChannelQueues, FanoutJob, RetryPolicy, StatusEventJob } from '../platform/queues.js';
import { TemplateRenderError } from '../content/engine.js';
import { renderJobs, type LocaleOutcome, type RenderJob } from '../content/render-pool.js';
import type { Telemetry } from '../observability/telemetry.js';
import { addDeliveryJobs, type QueuedDelivery } from '../outbox/outbox.js';
import { localeFor, planNotification, type PlannedNotification } from './plan.js';
import { loadRecipients, type RecipientProfile } from './recipients.js';
import { resolveSpec, type NotificationSpec, type SpecInput } from './spec.js';
import { claimBatchKey, findIdempotencyKey, insertKeyedNotification, insertNotifications, type IdempotencyClaim } from './store.js';

export interface NotificationDeps {
  db: Db;
  queues: ChannelQueues;
  retry: RetryPolicy;
  log: Logger;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds?: number;
  /** Topic fan-outs (needed only to notify a topic). */
  fanout?: Queue<FanoutJob>;
  /** The X-Request-Id being served, carried into the notification and its jobs. */
  requestId?: string | null;
  /** The W3C traceparent of the request's span (tracing on only), carried by the jobs. */
  traceparent?: string | undefined;
  /** Status webhook events (a cancel can complete a notification). */
  events?: Queue<StatusEventJob>;
  /** Counts accepted deliveries for the dashboard. */
  telemetry?: Telemetry;
}

// 0. With an Idempotency-Key: answer an earlier request's response (the same for single, bulk and topic sends).

export interface Idempotency {
  key: string;
  /** Fingerprint of the request body (see requestHash). */
  requestHash: string;
}

/** A response, and whether an earlier request with the same Idempotency-Key made it (answered with `Idempotency-Replay: true`). */
export interface Keyed<T> {
  response: T;
  replayed: boolean;
}

/**
 * The stored response of an earlier request with this key, still in its
 * window, or null; 422 when that request had another body. Checked first, so
 * a retry costs one lookup, and again when a claim finds the key taken.
 */
export async function replayOf<T>(deps: Pick<NotificationDeps, 'db'>, appId: string, idempotency: Idempotency): Promise<Keyed<T> | null> {
  const stored = await findIdempotencyKey(deps.db.pool, appId, idempotency.key);
  if (!stored) return null;
  if (stored.requestHash !== idempotency.requestHash) {
    throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body');
  }
  return { response: stored.response as T, replayed: true };
}

/**
 * Step 5 with or without a key: `insert` writes what the request creates
 * together with its claim on the key (insertPlannedOnce, insertBatchOnce) and
 * says whether it got the key. When another request holds it, that request's
 * response is answered; when that one is neither answerable nor claimable
 * (still in flight after our wait), 409 with Retry-After. Without a key,
 * `insert` runs with no claim.
 */
export async function insertWithKey<T>(
  deps: Pick<NotificationDeps, 'db' | 'idempotencyTtlSeconds'>,
  appId: string,
  idempotency: Idempotency | undefined,
  response: T,
  insert: (claim: IdempotencyClaim | undefined) => Promise<boolean>,
): Promise<Keyed<T>> {
  const claim = idempotency && { ...idempotency, response, ttlSeconds: deps.idempotencyTtlSeconds ?? 86_400 };
  if (await insert(claim)) return { response, replayed: false };
  const replay = idempotency ? await replayOf<T>(deps, appId, idempotency) : null;
  if (replay) return replay;
  throw new AppError('conflict', 'A request with this Idempotency-Key is being processed; retry', undefined, {
    headers: { 'Retry-After': '1' },
  });
}

// 1. Resolve the request.

/** The request resolved against the app's templates and categories (see resolveSpec), tagged with the request id (and trace) being served. */
export function resolveRequest(
  deps: Pick<NotificationDeps, 'db' | 'requestId' | 'traceparent'>,
  appId: string,
  input: SpecInput,
  batchId: string | null = null,
): Promise<NotificationSpec> {
  const resolved = resolveSpec(deps.db, appId, input, batchId, deps.requestId ?? null);
  // Tracing off: the spec as before, not one step more.
  const { traceparent } = deps;
  return traceparent ? resolved.then((spec) => ({ ...spec, traceparent })) : resolved;
}

// 2. Load the recipients.

/** Every recipient of one request in one query, with their preferences for its category. */
export function loadRecipientsFor(db: Queryable, spec: NotificationSpec, userIds: string[]): Promise<Map<string, RecipientProfile>> {
  return loadRecipients(db, spec.appId, userIds, spec.category);
}

// 3. Render, in the render pool.

export interface RenderTarget {
  /** Where the recipient sits in the request (`recipients.3.`), for error paths; '' for one recipient. */
  path: string;
  /** The locales to render: a loaded recipient's own (recipientLocales), or every one a recipient not loaded yet may get (candidateLocales). */
  locales: string[];
  /** The recipient's own data (bulk), merged over the request's. */
  data?: Record<string, unknown> | undefined;
}

/** The locale a loaded recipient gets, as the locales to render: none for a plain message. */
export function recipientLocales(spec: NotificationSpec, recipient: RecipientProfile | undefined): string[] {
  const locale = localeFor(spec, recipient);
  return locale === null ? [] : [locale];
}

/**
 * Renders a template for many recipients in ONE render-pool task (one budget
 * for the request): recipients without data of their own share one job, each
 * recipient with data gets its own. Answers each recipient's outcomes by
 * locale, in order; undefined for a plain message.
 */
export async function renderContent(spec: NotificationSpec, targets: RenderTarget[]): Promise<(Record<string, LocaleOutcome> | undefined)[]> {
  if (!spec.template) return targets.map(() => undefined);
  const shared = new Set<string>();
  const jobs: RenderJob[] = [];
  const jobOf: number[] = [];
  for (const t of targets) {
    if (t.data) {
      jobOf.push(jobs.length);
      jobs.push({ path: t.path, locales: t.locales, data: { ...spec.data, ...t.data } });
    } else {
      jobOf.push(-1);
      for (const locale of t.locales) shared.add(locale);
    }
  }
  const sharedJob = jobs.length;
  if (shared.size > 0) jobs.push({ path: '', locales: [...shared], data: spec.data ?? {} });
  const outcomes = await renderJobs(spec.template.body, spec.channels, jobs);
  return jobOf.map((j) => outcomes[j === -1 ? sharedJob : j]);
}

/**
 * For fan-outs, whose recipients' locales are unknown up front: every locale
 * must render with the shared data, all of them in one render-pool task.
 */
export async function checkRendersInEveryLocale(spec: NotificationSpec): Promise<void> {
  if (!spec.template) return;
  const locales = Object.keys(spec.template.body.locales);
  const [outcomes] = await renderJobs(spec.template.body, spec.channels, [{ path: '', locales, data: spec.data ?? {}, localePaths: true }]);
  for (const locale of locales) {
    const outcome = outcomes?.[locale];
    if (outcome && 'details' in outcome) throw renderFailure(new TemplateRenderError(outcome.details), `locales.${locale}.`)!;
  }
}

/** A template that cannot render becomes a 422 naming each field (`prefix` places it in the request). */
export function renderFailure(err: unknown, prefix = ''): AppError | null {
  if (!(err instanceof TemplateRenderError)) return null;
  const details: ErrorDetail[] = err.details.map((d) => ({ path: `${prefix}${d.path}`, message: d.message }));
  return new AppError('validation_failed', 'The template does not render with this data', details);
}

// 4. Plan.

export interface PlanTarget {
  userId: string;
  /** Where the recipient sits in the request, for error paths (as in RenderTarget). */
  path: string;
  recipient: RecipientProfile | undefined;
  data?: Record<string, unknown> | undefined;
  /** The recipient's content by locale, from renderContent. */
  rendered: Record<string, LocaleOutcome> | undefined;
}

export interface Planning {
  planned: PlannedNotification[];
  /** One 422 per recipient whose data the template cannot render, in order; each caller decides what that refuses. */
  failures: AppError[];
}

/** Each recipient's notification (planNotification, pure); any error other than a template's is thrown. */
export function planRecipients(spec: NotificationSpec, targets: PlanTarget[], now: Date): Planning {
  const planning: Planning = { planned: [], failures: [] };
  for (const t of targets) {
    try {
      planning.planned.push(planNotification(spec, t.userId, t.recipient, t.data, now, t.rendered));
    } catch (err) {
      const failure = renderFailure(err, t.path);
      if (!failure) throw err;
      planning.failures.push(failure);
    }
  }
  return planning;
}

/** One recipient of a request whose recipients are known up front. */
export interface AcceptTarget {
  userId: string;
  path: string;
  data?: Record<string, unknown> | undefined;
}

/**
 * Steps 2 to 4 for recipients known up front (keyed, bulk, a fan-out chunk):
 * one recipients query, one render task, then the plans, all made at `now`
 * (also answered, for rows written beside them).
 */
export async function prepareNotifications(db: Queryable, spec: NotificationSpec, targets: AcceptTarget[]): Promise<Planning & { now: Date }> {
  const userIds = targets.map((t) => t.userId);
  const recipients = await loadRecipientsFor(db, spec, userIds);
  const rendered = await renderContent(
    spec,
    targets.map((t) => ({ path: t.path, locales: recipientLocales(spec, recipients.get(t.userId)), data: t.data })),
  );
  const now = new Date();
  const planning = planRecipients(
    spec,
    targets.map((t, i) => ({ ...t, recipient: recipients.get(t.userId), rendered: rendered[i] })),
    now,
  );
  return { ...planning, now };
}

// 5. Insert.

/** Writes the notifications and all their deliveries in one statement (a pool, or a client inside a caller's transaction). */
export function insertPlanned(db: Queryable, planned: PlannedNotification[]): Promise<void> {
  return insertNotifications(db, planned);
}

/** Writes one notification only if its idempotency key is new, in the same statement; false when the key was taken. */
export function insertPlannedOnce(db: Queryable, planned: PlannedNotification, claim: IdempotencyClaim): Promise<boolean> {
  return insertKeyedNotification(db, planned, claim);
}

/**
 * Claims the key for a batch as the first statement of the transaction that
 * writes it (`write`), so the key and the batch commit together; false, with
 * nothing written, when the key was taken.
 */
export async function insertBatchOnce(client: Queryable, appId: string, batchId: string, claim: IdempotencyClaim | undefined, write: () => Promise<void>): Promise<boolean> {
  if (claim && !(await claimBatchKey(client, appId, batchId, claim))) return false;
  await write();
  return true;
}

// 6. Enqueue after commit.

/** The jobs a planned notification needs: one per queued delivery, held until its time. */
export function queuedDeliveries(n: PlannedNotification): QueuedDelivery[] {
  return n.deliveries
    .filter((d) => d.status === 'queued')
    .map((d) => ({ id: d.id, notificationId: n.id, channel: d.channel, priority: n.priority, notBefore: d.scheduledFor, requestId: n.requestId, traceparent: n.traceparent }));
}

/** Adds the jobs after the commit; a failure here is repaired by the sweeper, so the request still succeeds. */
export async function enqueueAfterCommit(deps: NotificationDeps, planned: PlannedNotification[]): Promise<void> {
  deps.telemetry?.accepted(planned);
  try {
    await addDeliveryJobs(deps.queues, deps.retry, planned.flatMap(queuedDeliveries));
  } catch (err) {
    deps.log.warn({ err, notifications: planned.length }, 'enqueue failed after commit; the sweeper will re-add the jobs');
  }
}
