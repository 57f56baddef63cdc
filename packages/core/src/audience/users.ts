import { randomBytes } from 'node:crypto';
import type { Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import type { Device as DeviceRow, User as UserRow } from '../generated/prisma/client.js';
import { newId } from '../platform/ids.js';
import type { PutUserBody, User } from '../schemas/users.js';
import { resolveWebhookTarget, WebhookUrlError, type Lookup } from '../platform/ssrf.js';
import type { Prisma } from '../generated/prisma/client.js';
import { fieldsOf, recordAudit, type AuditActor } from '../access/audit.js';

/** A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function userView(u: UserRow & { devices: DeviceRow[] }): User {
  return {
    user_id: u.id,
    email: u.email,
    phone: u.phone,
    locale: u.locale,
    timezone: u.timezone,
    devices: u.devices.map((d) => ({ id: d.id, kind: d.kind, token: d.token, created_at: d.createdAt.toISOString() })),
    quiet_hours: u.quietStart && u.quietEnd ? { start: u.quietStart, end: u.quietEnd } : null,
    webhook_url: u.webhookUrl,
    webhook_secret: u.webhookSecret,
    webhook_disabled_at: u.webhookDisabledAt?.toISOString() ?? null,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

export interface WebhookPolicy {
  /** WEBHOOK_ALLOWED_HOSTS: exempt from the SSRF guard. */
  allowedHosts: Set<string>;
  lookup?: Lookup;
}

/** Creates or updates a user's contacts. Returns whether the user was created. */
export async function putUser(db: Db, appId: string, userId: string, body: PutUserBody, webhooks: WebhookPolicy, by?: AuditActor): Promise<{ user: User; created: boolean }> {
  if (body.webhook_url) {
    try {
      await resolveWebhookTarget(body.webhook_url, webhooks.allowedHosts, webhooks.lookup);
    } catch (err) {
      if (!(err instanceof WebhookUrlError)) throw err;
      throw new AppError('validation_failed', 'The request is not valid', [{ path: 'webhook_url', message: err.message }]);
    }
  }
  const fields = {
    email: body.email,
    phone: body.phone,
    locale: body.locale,
    timezone: body.timezone,
    ...(body.quiet_hours === undefined ? {} : { quietStart: body.quiet_hours?.start ?? null, quietEnd: body.quiet_hours?.end ?? null }),
  };
  const devices = body.devices?.map((d) =>
    d.kind === 'fcm' ? { id: newId(), kind: d.kind, token: d.token } : { id: newId(), kind: d.kind, token: d.subscription.endpoint, keys: d.subscription.keys },
  );
  // Duplicate tokens in one request would break the (user, token) unique key.
  const uniqueDevices = devices && [...new Map(devices.map((d) => [d.token, d])).values()];
  return db.prisma.$transaction(async (tx) => {
    const key = { appId_id: { appId, id: userId } };
    const existing = await tx.user.findUnique({ where: key, select: { webhookUrl: true } });
    const webhook =
      body.webhook_url === undefined
        ? {}
        : body.webhook_url === null
          ? { webhookUrl: null, webhookSecret: null, webhookDisabledAt: null }
          : body.webhook_url === existing?.webhookUrl
            ? { webhookDisabledAt: null }
            : { webhookUrl: body.webhook_url, webhookSecret: newWebhookSecret(), webhookDisabledAt: null };
    // Set explicitly: Prisma's @updatedAt moves only when a column of the row
    // is written, so a PUT that changes only devices would leave it behind.
    await tx.user.upsert({
      where: key,
      create: { appId, id: userId, ...fields, ...webhook },
      update: { ...fields, ...webhook, updatedAt: new Date() },
    });
    // Created again after an erasure: notifications may reach them again.
    await tx.erasedUser.deleteMany({ where: { appId, userId } });
    if (uniqueDevices) {
      await tx.device.deleteMany({ where: { appId, userId } });
      await tx.device.createMany({ data: uniqueDevices.map((d) => ({ ...d, appId, userId })) });
    }
    const user = await tx.user.findUniqueOrThrow({ where: key, include: { devices: { orderBy: { id: 'asc' } } } });
    // Field names only: the values are contacts.
    await recordAudit(tx, by, { appId, action: 'user.updated', targetType: 'user', targetId: userId, summary: { created: !existing, fields: fieldsOf(body) } });
    return { user: userView(user), created: !existing };
  });
}

/**
 * Moves a user's updated_at after a change stored outside the users row
 * (preferences); a user id with no row yet is left alone.
 */
export function touchUser(tx: Prisma.TransactionClient, appId: string, userId: string) {
  return tx.user.updateMany({ where: { appId, id: userId }, data: { updatedAt: new Date() } });
}

export async function getUser(db: Db, appId: string, userId: string): Promise<User> {
  const user = await db.prisma.user.findUnique({
    where: { appId_id: { appId, id: userId } },
    include: { devices: { orderBy: { id: 'asc' } } },
  });
  if (!user) throw notFound('User');
  return userView(user);
}
