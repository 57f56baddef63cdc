import type { Db } from './db.js';
import { notFound } from './errors.js';
import type { Device as DeviceRow, User as UserRow } from './generated/prisma/client.js';
import { newId } from './ids.js';
import type { PutUserBody, User } from './schemas/users.js';

function userView(u: UserRow & { devices: DeviceRow[] }): User {
  return {
    user_id: u.id,
    email: u.email,
    phone: u.phone,
    locale: u.locale,
    timezone: u.timezone,
    devices: u.devices.map((d) => ({ id: d.id, kind: d.kind, token: d.token, created_at: d.createdAt.toISOString() })),
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

/** Creates or updates a user's contacts. Returns whether the user was created. */
export async function putUser(
  db: Db,
  appId: string,
  userId: string,
  body: PutUserBody,
): Promise<{ user: User; created: boolean }> {
  const fields = { email: body.email, phone: body.phone, locale: body.locale, timezone: body.timezone };
  const devices = body.devices?.map((d) =>
    d.kind === 'fcm'
      ? { id: newId(), kind: d.kind, token: d.token }
      : { id: newId(), kind: d.kind, token: d.subscription.endpoint, keys: d.subscription.keys },
  );
  // Duplicate tokens in one request would break the (user, token) unique key.
  const uniqueDevices = devices && [...new Map(devices.map((d) => [d.token, d])).values()];
  return db.prisma.$transaction(async (tx) => {
    const existing = await tx.user.findUnique({ where: { appId_id: { appId, id: userId } }, select: { id: true } });
    const key = { appId_id: { appId, id: userId } };
    await tx.user.upsert({ where: key, create: { appId, id: userId, ...fields }, update: fields });
    if (uniqueDevices) {
      await tx.device.deleteMany({ where: { appId, userId } });
      await tx.device.createMany({ data: uniqueDevices.map((d) => ({ ...d, appId, userId })) });
    }
    const user = await tx.user.findUniqueOrThrow({ where: key, include: { devices: { orderBy: { id: 'asc' } } } });
    return { user: userView(user), created: !existing };
  });
}

export async function getUser(db: Db, appId: string, userId: string): Promise<User> {
  const user = await db.prisma.user.findUnique({
    where: { appId_id: { appId, id: userId } },
    include: { devices: { orderBy: { id: 'asc' } } },
  });
  if (!user) throw notFound('User');
  return userView(user);
}
