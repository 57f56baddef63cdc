import type { Prisma } from '../generated/prisma/client.js';
import { toJson, type Db, type Queryable } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import { decodeCursor, encodeCursor, newId } from '../platform/ids.js';
import type { AuditEvent, AuditEventPage, AuditEventQuery } from '../schemas/audit.js';

/** Who made a change: an API key (its id) or the admin dashboard (the admin user name). */
export interface AuditActor {
  appId: string;
  actorType: 'key' | 'admin';
  actorId: string;
  requestId: string | null;
}

/**
 * What changed. `summary` holds field names and non-personal values only:
 * never message content or contact details (email, phone, device tokens,
 * webhook URLs), since the log outlives an erasure of the user it mentions.
 */
export interface AuditChange {
  action: string;
  targetType: string;
  targetId: string;
  summary?: Record<string, unknown>;
}

export type AuditEventInput = AuditActor & AuditChange;

/** A pg pool or client (inside withTransaction), or a Prisma transaction. */
export type AuditWriter = Queryable | Prisma.TransactionClient;

/**
 * The one writer of the audit log. Pass the transaction that makes the change
 * when there is one, so the change and its record commit together.
 */
export async function recordAudit(tx: AuditWriter, event: AuditEventInput): Promise<void> {
  const data = {
    id: newId(),
    appId: event.appId,
    actorType: event.actorType,
    actorId: event.actorId,
    requestId: event.requestId,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    summary: event.summary ?? {},
  };
  if (!('query' in tx)) {
    await tx.auditEvent.create({ data: { ...data, summary: toJson(data.summary) } });
    return;
  }
  await tx.query(
    `INSERT INTO audit_events (id, app_id, actor_type, actor_id, request_id, action, target_type, target_id, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
    [data.id, data.appId, data.actorType, data.actorId, data.requestId, data.action, data.targetType, data.targetId, JSON.stringify(data.summary)],
  );
}

/** The names of the fields a request body set (values left out: they may be personal). */
export function fieldsOf(body: object): string[] {
  return Object.entries(body)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
    .sort();
}

function view(e: {
  id: string;
  actorType: string;
  actorId: string;
  requestId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  summary: Prisma.JsonValue;
  createdAt: Date;
}): AuditEvent {
  return {
    id: e.id,
    actor_type: e.actorType === 'admin' ? 'admin' : 'key',
    actor_id: e.actorId,
    request_id: e.requestId,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    summary: (e.summary ?? {}) as Record<string, unknown>,
    created_at: e.createdAt.toISOString(),
  };
}

/** An app's audit events, newest first, filtered. */
export async function listAuditEvents(db: Db, appId: string, q: AuditEventQuery): Promise<AuditEventPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const createdAt = q.from || q.to ? { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) } : undefined;
  const where = { appId, action: q.action, targetType: q.target_type, targetId: q.target_id, actorId: q.actor_id, createdAt, id: after ? { lt: after } : undefined };
  // One row past the page says whether there is a next one.
  const rows = await db.prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { data: page.map(view), next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null };
}
