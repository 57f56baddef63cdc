import { categoryRequired, listCategories } from '../content/categories.js';
import { CHANNELS, type Channel } from '../platform/channels.js';
import type { Db } from '../platform/db.js';
import type { Preferences, PutPreferencesBody } from '../schemas/users.js';
import { touchUser } from './users.js';
import { recordAudit, type AuditActor } from '../access/audit.js';

/** The channel-wide setting (as opposed to a per-category one). */
export const ALL_CATEGORIES = '';

/** A stored opt-in/out: category '' is channel-wide. */
export interface PreferenceRow {
  category: string;
  channel: Channel;
  enabled: boolean;
}

/**
 * Whether a user gets `channel` for `category`: a required category always;
 * otherwise the most specific setting wins (category x channel, then the
 * channel), and with none the channel is on.
 */
export function channelEnabled(rows: PreferenceRow[], channel: Channel, category: string | null, required: boolean): boolean {
  if (required) return true;
  const specific = category === null ? undefined : rows.find((r) => r.category === category && r.channel === channel);
  if (specific) return specific.enabled;
  return rows.find((r) => r.category === ALL_CATEGORIES && r.channel === channel)?.enabled ?? true;
}

function byChannel(fn: (c: Channel) => boolean): Record<Channel, boolean> {
  return Object.fromEntries(CHANNELS.map((c) => [c, fn(c)])) as Record<Channel, boolean>;
}

/** The effective settings: per channel, and per category x channel (required categories show on). */
export async function getPreferences(db: Db, appId: string, userId: string): Promise<Preferences> {
  const [rows, categories] = await Promise.all([db.prisma.preference.findMany({ where: { appId, userId } }), listCategories(db, appId)]);
  return {
    user_id: userId,
    channels: byChannel((c) => channelEnabled(rows, c, null, false)),
    categories: Object.fromEntries(categories.map((cat) => [cat.key, { required: cat.required, channels: byChannel((c) => channelEnabled(rows, c, cat.key, cat.required)) }])),
  };
}

/**
 * Sets the given channels and category x channel switches; anything not
 * mentioned keeps its setting. An opt-out of a required category is kept
 * (it applies if the category stops being required) but has no effect.
 */
export async function setPreferences(db: Db, appId: string, userId: string, body: PutPreferencesBody, by?: AuditActor): Promise<Preferences> {
  const entries: PreferenceRow[] = Object.entries(body.channels ?? {}).map(([channel, enabled]) => ({
    category: ALL_CATEGORIES,
    channel: channel as Channel,
    enabled: enabled as boolean,
  }));
  for (const [category, setting] of Object.entries(body.categories ?? {})) {
    await categoryRequired(db, appId, category);
    const switches = typeof setting === 'boolean' ? byChannel(() => setting) : setting;
    for (const [channel, enabled] of Object.entries(switches)) entries.push({ category, channel: channel as Channel, enabled: enabled as boolean });
  }
  await db.prisma.$transaction(async (tx) => {
    for (const { category, channel, enabled } of entries) {
      await tx.preference.upsert({
        where: { appId_userId_category_channel: { appId, userId, category, channel } },
        create: { appId, userId, category, channel, enabled },
        update: { enabled },
      });
    }
    if (entries.length > 0) await touchUser(tx, appId, userId);
    // Switches and category names: settings, not personal data.
    await recordAudit(tx, by, { appId, action: 'preferences.updated', targetType: 'user', targetId: userId, summary: { ...body } });
  });
  return getPreferences(db, appId, userId);
}
