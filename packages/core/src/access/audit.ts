import type { Prisma } from '../generated/prisma/client.js';
import { toJson, type Db, type Queryable } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import { decodeCursor, encodeCursor, newId } from '../platform/ids.js';
import type { AuditAction, AuditActorType, AuditEvent, AuditEventPage, AuditEventQuery } from '../schemas/audit.js';

/**
 * Who makes a change: an API key (its id), an operator with the admin
 * credentials (the admin user name) or the keys CLI (the OS user), and the
 * request it came in (none from the CLI).
 */
export interface AuditActor {
  type: AuditActorType;
  id: string;
  requestId: string | null;
}

/**
 * What changed. `summary` holds field names and non-personal values only:
 * never message content or contact details (email, phone, device tokens,
 * webhook URLs), since the log outlives an erasure of the user it mentions.
 */
export interface AuditChange {
  /** Null for an operator's change that is no app's (a channel queue). */
  appId: string | null;
  action: AuditAction;
  targetType: string;
  targetId: string;
  summary?: Record<string, unknown>;
}

/** A pg client inside withTransaction, or a Prisma interactive transaction. */
export type AuditWriter = Queryable | Prisma.TransactionClient;

/**
 * The one writer of the audit log, called by each change with the
 * transaction that makes it: the change and its record commit together or
 * not at all. Without an actor (data set up by a test or a seed) nothing is
 * recorded; every API and CLI caller passes one.
 */
export async function recordAudit(tx: AuditWriter, by: AuditActor | undefined, changes: AuditChange | AuditChange[]): Promise<void> {
  const list = Array.isArray(changes) ? changes : [changes];
  if (!by || list.length === 0) return;
  const rows = list.map((c) => ({
    id: newId(),
    appId: c.appId,
    actorType: by.type,
    actorId: by.id,
    requestId: by.requestId,
    action: c.action,
    targetType: c.targetType,
    targetId: c.targetId,
    summary: c.summary ?? {},
  }));
  if (!('query' in tx)) {
    await tx.auditEvent.createMany({ data: rows.map((r) => ({ ...r, summary: toJson(r.summary) })) });
    return;
  }
  // One statement for any number of events (a replay of a thousand deliveries).
  await tx.query(
    `INSERT INTO audit_events (id, app_id, actor_type, actor_id, request_id, action, target_type, target_id, summary)
     SELECT id, app_id, $3, $4, $5, action, target_type, target_id, summary
     FROM unnest($1::uuid[], $2::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[]) AS e(id, app_id, action, target_type, target_id, summary)`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.appId),
      by.type,
      by.id,
      by.requestId,
      rows.map((r) => r.action),
      rows.map((r) => r.targetType),
      rows.map((r) => r.targetId),
      rows.map((r) => JSON.stringify(r.summary)),
    ],
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
    // Written only by recordAudit, from these same types.
    actor_type: e.actorType as AuditActorType,
    actor_id: e.actorId,
    request_id: e.requestId,
    action: e.action as AuditAction,
    target_type: e.targetType,
    target_id: e.targetId,
    summary: (e.summary ?? {}) as Record<string, unknown>,
    created_at: e.createdAt.toISOString(),
  };
}

/** An app's audit events (with `appId` null: the operators' changes that are no app's), newest first, filtered. */
export async function listAuditEvents(db: Db, appId: string | null, q: AuditEventQuery): Promise<AuditEventPage> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const createdAt = q.from || q.to ? { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) } : undefined;
  const where = { appId, action: q.action, targetType: q.target_type, targetId: q.target_id, actorId: q.actor_id, createdAt, id: after ? { lt: after } : undefined };
  // One row past the page says whether there is a next one.
  const rows = await db.prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { data: page.map(view), next_cursor: rows.length > q.limit ? encodeCursor(page.at(-1)!.id) : null };
}
