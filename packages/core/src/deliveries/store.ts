import type pg from 'pg';
import type { Channel, Priority } from '../platform/channels.js';
import { checkTarget, countsUpdateSql, sourceIs, target, type TargetOf } from './transitions.js';
import { statusEventsSql } from '../status-webhooks/events.js';
import type { PushDevice } from '../channels/provider.js';
import type { RenderedContent } from '../schemas/templates.js';
import type { QuietHours } from '../audience/quiet-hours.js';
import { DEFAULT_CATEGORIES } from '../content/categories.js';
import { suppressionAddressSql } from '../suppressions/suppressions.js';
import { installSessionPlanned, querySessionPlanned, sessionPlanned } from '../platform/session-plans.js';

/** A delivery taken by a worker, with what it needs to build the message. */
export interface ClaimedDelivery {
  id: string;
  appId: string;
  notificationId: string;
  channel: Channel;
  /** Provider calls so far, this one included (across replays). */
  attempts: number;
  /** `sending` means an earlier worker died mid-send: this may be a second send. */
  previousStatus: 'queued' | 'retrying' | 'sending';
  userId: string;
  type: string | null;
  subject: string | null;
  message: string | null;
  data: Record<string, unknown> | null;
  priority: Priority;
  email: string | null;
  phone: string | null;
  /** The webhook endpoint, unless a 410 disabled it. */
  webhookUrl: string | null;
  webhookSecret: string | null;
  /** The user's push devices (read for push deliveries only). */
  devices: PushDevice[];
  /** What a template rendered to, per channel; null for a plain message. */
  content: RenderedContent | null;
  createdAt: Date;
  /**
   * Consent as it stands now, read by the claim: set when the user was erased
   * or has opted out of this channel (or of it for the notification's
   * category, unless the category is required), or when the address is
   * suppressed (for push: every device's token is). Such a delivery is not sent.
   */
  refused: 'user_erased' | 'opted_out' | 'suppressed' | null;
  /** The notification's category, and whether it is required (no opt-out: its emails carry no List-Unsubscribe). */
  category: string | null;
  categoryRequired: boolean;
  /** The user's quiet hours and time zone now, to hold the delivery again if it fires inside them. */
  quietHours: QuietHours | null;
  timezone: string | null;
}

/** Categories required unless an app redefines them (the claim's opt-out test, as in categoryRequired). */
const REQUIRED_BUILT_IN = Object.entries(DEFAULT_CATEGORIES).flatMap(([key, c]) => (c.required ? [key] : []));

/*
 * BY_ID: claim and finish find their rows by id, and test the status as
 * text on purpose: written as an enum test it matches the sweeper's partial
 * index, and when the statistics predate a sudden backlog the planner thinks
 * that index nearly empty and scans all of it (every queued row) instead of
 * looking the ids up: claims cost 3x as much behind a 20,000-job backlog.
 */
const BY_ID = { asText: true };

/**
 * The claim (see claimDeliveries), planned once per session (sessionPlanned).
 * `old` is the row as it was before this update: its status says whether a
 * send was cut short.
 */
const CLAIM = sessionPlanned(
  'claim_deliveries',
  `WITH c AS (
        UPDATE deliveries d SET status = ${target('claim', 'sending')}, attempts = d.attempts + 1, updated_at = now()
        FROM deliveries old
        WHERE d.id = ANY($1::uuid[]) AND old.id = d.id AND ${sourceIs('claim', 'd.status', BY_ID)}
        RETURNING d.id, d.app_id, d.notification_id, d.channel, d.attempts, old.status AS previous_status
      )
      SELECT c.*, n.user_id, n.type, n.subject, n.message, n.data, n.priority, n.created_at, n.content, u.email, u.phone,
        CASE WHEN u.webhook_disabled_at IS NULL THEN u.webhook_url END AS webhook_url, u.webhook_secret,
        coalesce(pd.devices, '[]') AS devices, n.category, r.required AS category_required,
        u.timezone, u.quiet_start, u.quiet_end,
        CASE
          WHEN EXISTS (SELECT 1 FROM erased_users e WHERE e.app_id = n.app_id AND e.user_id = n.user_id) THEN 'user_erased'
          WHEN NOT r.required
            AND NOT coalesce((SELECT p.enabled FROM preferences p
              WHERE p.app_id = n.app_id AND p.user_id = n.user_id AND p.channel = c.channel AND p.category IN (coalesce(n.category, ''), '')
              ORDER BY p.category = '' LIMIT 1), true) THEN 'opted_out'
          WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.app_id = n.app_id AND s.channel = c.channel
              AND s.address = ${suppressionAddressSql('c.channel', 'u.email', 'u.phone')}) THEN 'suppressed'
          WHEN pd.devices IS NULL AND pd.suppressed > 0 THEN 'suppressed'
        END AS refused
      FROM c JOIN notifications n ON n.id = c.notification_id
      LEFT JOIN users u ON u.app_id = n.app_id AND u.id = n.user_id
      CROSS JOIN LATERAL (SELECT coalesce((SELECT k.required FROM categories k WHERE k.app_id = n.app_id AND k.key = n.category),
        n.category = ANY($2::text[]), false) AS required) r
      LEFT JOIN LATERAL (
        SELECT json_agg(json_build_object('id', d.id, 'kind', d.kind, 'token', d.token, 'keys', d.keys) ORDER BY d.id) FILTER (WHERE s.id IS NULL) AS devices,
          count(s.id) AS suppressed
        FROM devices d LEFT JOIN suppressions s ON s.app_id = d.app_id AND s.channel = 'push' AND s.address = d.token
        -- The channel test first: for other channels the scan is skipped (a one-time filter).
        WHERE c.channel = 'push' AND d.app_id = n.app_id AND d.user_id = n.user_id
      ) pd ON true`,
);

/**
 * Marks deliveries `sending` and counts the attempt, returning their content
 * and contacts, in one statement. A delivery already finished (delivered,
 * failed, cancelled, skipped) is left out, so it is never sent again.
 *
 * The same statement reads consent as it is now, not as it was when the
 * notification was accepted (it may have waited for send_at or quiet hours):
 * erasure, the channel-wide and per-category opt-outs (the category x channel
 * row wins over the channel's, as in channelEnabled; a required category
 * ignores both), the suppressions of the user's address for the channel,
 * the contacts and the quiet hours. Each is an index lookup on a primary or
 * unique key, so the hot path costs no extra round trip. Push devices whose
 * token is suppressed are left out; with devices but none left, the delivery
 * is refused as suppressed.
 */
export async function claimDeliveries(pool: pg.Pool, ids: string[]): Promise<Map<string, ClaimedDelivery>> {
  const { rows } = await querySessionPlanned(pool, CLAIM, [ids, REQUIRED_BUILT_IN]);
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        appId: r.app_id,
        notificationId: r.notification_id,
        channel: r.channel,
        attempts: r.attempts,
        previousStatus: r.previous_status,
        userId: r.user_id,
        type: r.type,
        subject: r.subject,
        message: r.message,
        data: r.data,
        priority: r.priority,
        email: r.email,
        phone: r.phone,
        webhookUrl: r.webhook_url,
        webhookSecret: r.webhook_secret,
        devices: r.devices,
        content: r.content,
        createdAt: r.created_at,
        refused: r.refused,
        category: r.category,
        categoryRequired: r.category_required,
        quietHours: r.quiet_start && r.quiet_end ? { start: r.quiet_start, end: r.quiet_end } : null,
        timezone: r.timezone,
      },
    ]),
  );
}

/** claimDeliveries for one delivery: null when it is already finished. */
export async function claimDelivery(pool: pg.Pool, id: string): Promise<ClaimedDelivery | null> {
  return (await claimDeliveries(pool, [id])).get(id) ?? null;
}

/**
 * Puts a delivery taken inside the user's quiet hours back to wait until they
 * end (the caller delays its job to the same moment); the claim's attempt is
 * not counted, as no provider was called.
 */
export async function holdForQuietHours(pool: pg.Pool, id: string, until: Date): Promise<void> {
  await pool.query({
    text: `/* hold_for_quiet_hours */ UPDATE deliveries SET status = ${target('quiet', 'queued')}, attempts = attempts - 1, scheduled_for = $2, updated_at = now()
      WHERE id = $1 AND ${sourceIs('quiet')}`,
    values: [id, until],
  });
}

/** Forgets push devices a provider reported gone (unregistered token, expired subscription); their users' updated_at moves. */
export async function removeDevices(pool: pg.Pool, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await pool.query(
    `WITH gone AS (DELETE FROM devices WHERE id = ANY($1::uuid[]) RETURNING app_id, user_id)
     UPDATE users u SET updated_at = now() FROM (SELECT DISTINCT app_id, user_id FROM gone) g WHERE u.app_id = g.app_id AND u.id = g.user_id`,
    [ids],
  );
}

/** Disables a user's webhook endpoint after it answered 410 Gone; setting the URL again re-enables it. */
export async function disableWebhook(pool: pg.Pool, appId: string, userId: string): Promise<void> {
  await pool.query('UPDATE users SET webhook_disabled_at = now(), updated_at = now() WHERE app_id = $1 AND id = $2 AND webhook_disabled_at IS NULL', [appId, userId]);
}

/** One provider call, for the delivery's error history (delivery_attempts). */
export interface AttemptRecord {
  attempt: number;
  provider: string;
  outcome: 'delivered' | 'retryable_error' | 'permanent_error';
  errorCode?: string | null;
  errorMessage?: string | null;
  durationMs: number;
}

/** The outcomes `finish` may record (see TRANSITIONS). */
export type FinalStatus = TargetOf<'finish'>;

export interface DeliveryOutcome {
  status: FinalStatus;
  provider?: string | null;
  providerMessageId?: string | null;
  reason?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  /** The provider call that led here, if there was one. */
  attempt?: AttemptRecord;
}

/**
 * The one insert of attempt rows (finish and retry): a statement that
 * records attempts has a CTE `o` with each delivery's attempt columns and a
 * CTE `moved` of the deliveries it moved. Only moved rows get one, so an
 * outcome refused (already finished) leaves no attempt either; a null
 * attempt means no provider was called.
 */
const INSERT_ATTEMPTS = `INSERT INTO delivery_attempts (delivery_id, attempt, provider, outcome, error_code, error_message, duration_ms)
        SELECT o.id, o.attempt, o.attempt_provider, o.outcome, o.attempt_error_code, o.attempt_error_message, o.duration_ms
        FROM o JOIN moved m ON m.id = o.id WHERE o.attempt IS NOT NULL`;

export interface Finished {
  /** The new status of each moved delivery's notification, by delivery id. */
  notificationStatus: Map<string, string>;
  /** Status webhook events this produced, to hand to their queue. */
  eventIds: string[];
}

/** The outcome (see finishDeliveries), planned once per session (sessionPlanned). */
const FINISH = sessionPlanned(
  'finish_deliveries',
  `WITH o AS (
        SELECT * FROM unnest($1::uuid[], $2::delivery_status[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
          $8::int[], $9::text[], $10::attempt_outcome[], $11::text[], $12::text[], $13::int[])
          AS o(id, status, provider, provider_message_id, reason, error_code, error_message,
            attempt, attempt_provider, outcome, attempt_error_code, attempt_error_message, duration_ms)
      ),
      moved AS (
        -- o.status: each one checked against TRANSITIONS.finish (finishDeliveries).
        UPDATE deliveries d SET status = o.status,
          provider = COALESCE(o.provider, d.provider), provider_message_id = COALESCE(o.provider_message_id, d.provider_message_id),
          reason = COALESCE(o.reason, d.reason),
          last_error_code = CASE WHEN o.status = 'failed' THEN o.error_code ELSE d.last_error_code END,
          last_error_message = CASE WHEN o.status = 'failed' THEN o.error_message ELSE d.last_error_message END,
          delivered_at = CASE WHEN o.status = 'delivered' THEN now() END,
          failed_at = CASE WHEN o.status = 'failed' THEN now() END,
          updated_at = now()
        -- "id = ANY($1)" as well as the join: the primary key is then the obvious way in.
        FROM o WHERE d.id = ANY($1::uuid[]) AND d.id = o.id AND ${sourceIs('finish', 'd.status', BY_ID)}
        RETURNING d.id, d.notification_id, d.channel, d.status, d.provider, d.provider_message_id, d.attempts,
          d.last_error_code, d.last_error_message
      ),
      attempt AS (${INSERT_ATTEMPTS}),
      ${countsUpdateSql('moved', 'finish')},
      ${statusEventsSql('moved')}
      SELECT m.id, c.status, (SELECT array_agg(id) FROM events) AS event_ids FROM moved m JOIN counted c ON c.id = m.notification_id`,
);

/** The worker's hot statements, by label (the benchmark's plans section reads them too). */
export const WORKER_STATEMENTS = { claim_deliveries: CLAIM, finish_deliveries: FINISH };

/**
 * Makes the functions of the claim and the outcome (sessionPlanned) if this
 * database has none for this version yet: a worker calls it at start-up, so a
 * role that may not create them stops the worker there, not every delivery later.
 */
export async function prepareWorkerStatements(pool: pg.Pool): Promise<void> {
  for (const s of Object.values(WORKER_STATEMENTS)) await installSessionPlanned(pool, s);
}

/**
 * Ends unfinished deliveries, records their attempts, moves their
 * notifications' counts and status, and writes the status webhook events, in
 * one statement. A finished delivery does not move again, so an outcome
 * counts once; it is absent from `notificationStatus`.
 */
export async function finishDeliveries(pool: pg.Pool, outcomes: Array<DeliveryOutcome & { id: string }>): Promise<Finished> {
  for (const o of outcomes) checkTarget('finish', o.status);
  const col = <T>(f: (o: DeliveryOutcome & { id: string }) => T) => outcomes.map(f);
  const { rows } = await querySessionPlanned<{ id: string; status: string; event_ids: string[] | null }>(pool, FINISH, [
    col((o) => o.id),
    col((o) => o.status),
    col((o) => o.provider ?? null),
    col((o) => o.providerMessageId ?? null),
    col((o) => o.reason ?? null),
    col((o) => o.errorCode ?? null),
    col((o) => o.errorMessage ?? null),
    col((o) => o.attempt?.attempt ?? null),
    col((o) => o.attempt?.provider ?? null),
    col((o) => o.attempt?.outcome ?? null),
    col((o) => o.attempt?.errorCode ?? null),
    col((o) => o.attempt?.errorMessage ?? null),
    col((o) => o.attempt?.durationMs ?? null),
  ]);
  return { notificationStatus: new Map(rows.map((r) => [r.id, r.status])), eventIds: rows[0]?.event_ids ?? [] };
}

/** finishDeliveries for one delivery: its notification's new status, or null if it was already finished. */
export async function finishDelivery(pool: pg.Pool, id: string, o: DeliveryOutcome): Promise<{ status: string; eventIds: string[] } | null> {
  const finished = await finishDeliveries(pool, [{ ...o, id }]);
  const status = finished.notificationStatus.get(id);
  return status === undefined ? null : { status, eventIds: finished.eventIds };
}

/**
 * Records a failed attempt that will be retried. Without `attempt`, no
 * provider was called (every breaker open): the claim is not counted either.
 */
export async function markRetrying(pool: pg.Pool, id: string, e: { provider: string; errorCode: string; errorMessage: string; attempt?: AttemptRecord }): Promise<void> {
  const a = e.attempt;
  await pool.query({
    text: `/* mark_retrying */ WITH o AS (
        SELECT $1::uuid AS id, $5::int AS attempt, $6::text AS attempt_provider, $7::attempt_outcome AS outcome,
          $8::text AS attempt_error_code, $9::text AS attempt_error_message, $10::int AS duration_ms
      ),
      moved AS (
        UPDATE deliveries SET status = ${target('retry', 'retrying')}, provider = $2,
          last_error_code = $3, last_error_message = $4, updated_at = now(),
          attempts = attempts - CASE WHEN $5::int IS NULL THEN 1 ELSE 0 END
        WHERE id = $1 AND ${sourceIs('retry')}
        RETURNING id
      )
      ${INSERT_ATTEMPTS}`,
    values: [
      id,
      e.provider,
      e.errorCode,
      e.errorMessage,
      a?.attempt ?? null,
      a?.provider ?? null,
      a?.outcome ?? null,
      a?.errorCode ?? null,
      a?.errorMessage ?? null,
      a?.durationMs ?? null,
    ],
  });
}
