// Accepting a notification, one function per step (resolve, load recipients, render, plan, insert, enqueue after
// commit), shared by the four ways in: single (writer.ts), keyed (notifications.ts), bulk and topic fan-out (batches.ts).
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
import { insertKeyedNotification, insertNotifications, type IdempotencyClaim } from './store.js';

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
  /** Status webhook events (a cancel can complete a notification). */
  events?: Queue<StatusEventJob>;
  /** Counts accepted deliveries for the dashboard. */
  telemetry?: Telemetry;
}

// 1. Resolve the request.

/** The request resolved against the app's templates and categories (see resolveSpec), tagged with the request id being served. */
export function resolveRequest(deps: Pick<NotificationDeps, 'db' | 'requestId'>, appId: string, input: SpecInput, batchId: string | null = null): Promise<NotificationSpec> {
  return resolveSpec(deps.db, appId, input, batchId, deps.requestId ?? null);
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

// 6. Enqueue after commit.

/** The jobs a planned notification needs: one per queued delivery, held until its time. */
export function queuedDeliveries(n: PlannedNotification): QueuedDelivery[] {
  return n.deliveries
    .filter((d) => d.status === 'queued')
    .map((d) => ({ id: d.id, notificationId: n.id, channel: d.channel, priority: n.priority, notBefore: d.scheduledFor, requestId: n.requestId }));
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
