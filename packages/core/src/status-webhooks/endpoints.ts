import type { Queue } from 'bullmq';
import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeCursor, encodeCursor, isUuid, newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { Provider } from '../channels/provider.js';
import { toProviderError } from '../channels/provider-error.js';
import type { StatusEventJob } from '../platform/queues.js';
import type { StatusEventPage, StatusWebhook } from '../schemas/status-webhooks.js';
import { resolveWebhookTarget, WebhookUrlError } from '../platform/ssrf.js';
import { STATUS_EVENT_TYPES, type StatusEventType } from './events.js';
import { newWebhookSecret, type WebhookPolicy } from '../audience/users.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

function view(w: { id: string; url: string; secret: string; events: string[]; createdAt: Date }): StatusWebhook {
  return { id: w.id, url: w.url, secret: w.secret, events: w.events as StatusEventType[], created_at: w.createdAt.toISOString() };
}

export async function createStatusWebhook(
  db: Db,
  appId: string,
  body: { url: string; events?: StatusEventType[] | undefined },
  policy: WebhookPolicy,
  by?: AuditActor,
): Promise<StatusWebhook> {
  try {
    await resolveWebhookTarget(body.url, policy.allowedHosts, policy.lookup);
  } catch (err) {
    if (!(err instanceof WebhookUrlError)) throw err;
    throw new AppError('validation_failed', 'The request is not valid', [{ path: 'url', message: err.message }]);
  }
  return db.prisma.$transaction(async (tx) => {
    const row = await tx.statusWebhook.create({
      data: { id: newId(), appId, url: body.url, secret: newWebhookSecret(), events: [...new Set(body.events ?? STATUS_EVENT_TYPES)] },
    });
    // The URL stays out of the log: it can carry tokens or name a person.
    await recordAudit(tx, by, { appId, action: 'webhook.created', targetType: 'webhook', targetId: row.id, summary: { events: row.events } });
    return view(row);
  });
}

export async function listStatusWebhooks(db: Db, appId: string): Promise<StatusWebhook[]> {
  return (await db.prisma.statusWebhook.findMany({ where: { appId }, orderBy: { createdAt: 'asc' } })).map(view);
}

async function find(db: Db, appId: string, id: string) {
  const row = isUuid(id) ? await db.prisma.statusWebhook.findFirst({ where: { id, appId } }) : null;
  if (!row) throw notFound('Webhook');
  return row;
}

export async function getStatusWebhook(db: Db, appId: string, id: string): Promise<StatusWebhook> {
  return view(await find(db, appId, id));
}

/** Deletes the endpoint and its delivery log. */
export async function deleteStatusWebhook(db: Db, appId: string, id: string, by?: AuditActor): Promise<void> {
  await find(db, appId, id);
  await db.prisma.$transaction(async (tx) => {
    await tx.statusEvent.deleteMany({ where: { endpointId: id } });
    await tx.statusWebhook.delete({ where: { id } });
    await recordAudit(tx, by, { appId, action: 'webhook.deleted', targetType: 'webhook', targetId: id });
  });
}

/** The endpoint's delivery log: every event, newest first, with its outcome. */
export async function listStatusEvents(
  db: Db,
  appId: string,
  endpointId: string,
  q: { limit: number; cursor?: string | undefined; status?: string | undefined },
): Promise<StatusEventPage> {
  await find(db, appId, endpointId);
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const rows = await db.prisma.statusEvent.findMany({
    where: { endpointId, status: q.status, id: after ? { lt: after } : undefined },
    orderBy: { id: 'desc' },
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    data: page.map((e) => ({
      id: e.id,
      type: e.type as StatusEventType,
      status: e.status as 'pending' | 'delivered' | 'failed',
      attempts: e.attempts,
      last_status_code: e.lastStatusCode,
      last_error: e.lastError,
      payload: e.payload as Record<string, unknown>,
      created_at: e.createdAt.toISOString(),
      delivered_at: e.deliveredAt?.toISOString() ?? null,
    })),
    next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}

/** Hands new events to their queue; the sweeper re-adds any this misses. */
export async function enqueueStatusEvents(queue: Queue<StatusEventJob> | undefined, ids: string[], log: Logger): Promise<void> {
  if (!queue || ids.length === 0) return;
  try {
    await queue.addBulk(ids.map((id) => ({ name: 'event', data: { event_id: id }, opts: { jobId: id } })));
  } catch (err) {
    log.warn({ err, events: ids.length }, 'status event enqueue failed; the sweeper will re-add them');
  }
}

export type EventAttempt = { outcome: 'delivered' } | { outcome: 'retry' | 'failed'; code: string; message: string };

/**
 * Sends one status event to its endpoint, signed like the webhook channel
 * (Standard Webhooks, `webhook-id` = event id), and records the attempt.
 * Returns what happened; 'retry' means the job should back off and try again.
 */
export async function sendStatusEvent(db: Db, webhook: Provider, eventId: string, lastAttempt: boolean, log: Logger): Promise<EventAttempt> {
  const rows = await db.pool.query<{ status: string; payload: Record<string, unknown>; url: string; secret: string }>(
    `SELECT e.status, e.payload, w.url, w.secret FROM status_events e JOIN status_webhooks w ON w.id = e.endpoint_id WHERE e.id = $1`,
    [eventId],
  );
  const event = rows.rows[0];
  if (event?.status !== 'pending') return { outcome: 'delivered' };
  try {
    const sent = await webhook.send(
      { channel: 'webhook', message: { url: event.url, secret: event.secret, payload: event.payload } },
      {
        deliveryId: eventId,
        notificationId: eventId,
        attempt: 0,
        log,
      },
    );
    const code = Number(/(\d{3})$/.exec(sent.providerMessageId)?.[1] ?? 200);
    await db.pool.query(
      `UPDATE status_events SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, last_error = NULL,
         delivered_at = now(), updated_at = now() WHERE id = $1`,
      [eventId, code],
    );
    return { outcome: 'delivered' };
  } catch (thrown) {
    const err = toProviderError(thrown);
    const final = !err.retryable || lastAttempt;
    const code = /webhook_(\d{3})$/.exec(err.code)?.[1];
    await db.pool.query(`UPDATE status_events SET status = $2, attempts = attempts + 1, last_status_code = $3, last_error = $4, updated_at = now() WHERE id = $1`, [
      eventId,
      final ? 'failed' : 'pending',
      code ? Number(code) : null,
      `${err.code}: ${err.message}`,
    ]);
    return { outcome: final ? 'failed' : 'retry', code: err.code, message: err.message };
  }
}
