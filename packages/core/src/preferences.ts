import { CHANNELS, type Channel } from './channels.js';
import type { Db } from './db.js';
import type { Preferences, PutPreferencesBody } from './schemas/users.js';

/** The channel-wide setting (as opposed to a per-category one). */
const ALL_CATEGORIES = '';

/** Effective per-channel settings: every channel is enabled unless the user opted out. */
export async function getPreferences(db: Db, appId: string, userId: string): Promise<Preferences> {
  const rows = await db.prisma.preference.findMany({ where: { appId, userId, category: ALL_CATEGORIES } });
  const set = new Map(rows.map((r) => [r.channel, r.enabled]));
  const channels = Object.fromEntries(CHANNELS.map((c) => [c, set.get(c) ?? true])) as Record<Channel, boolean>;
  return { user_id: userId, channels };
}

/** Sets the given channels; channels not mentioned keep their current setting. */
export async function setPreferences(
  db: Db,
  appId: string,
  userId: string,
  body: PutPreferencesBody,
): Promise<Preferences> {
  const entries = Object.entries(body.channels) as [Channel, boolean][];
  await db.prisma.$transaction(
    entries.map(([channel, enabled]) =>
      db.prisma.preference.upsert({
        where: { appId_userId_category_channel: { appId, userId, category: ALL_CATEGORIES, channel } },
        create: { appId, userId, category: ALL_CATEGORIES, channel, enabled },
        update: { enabled },
      }),
    ),
  );
  return getPreferences(db, appId, userId);
}
