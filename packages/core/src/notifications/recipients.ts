// Who a notification goes to: contacts, preferences, locale and quiet hours of many users, in one query.
import type { Queryable } from '../platform/db.js';
import type { Recipient } from '../audience/contacts.js';
import type { PreferenceRow } from '../audience/preferences.js';
import type { QuietHours } from '../audience/quiet-hours.js';

/** A user as notification planning sees them. */
export interface RecipientProfile extends Recipient {
  locale: string | null;
  timezone: string | null;
  quietHours: QuietHours | null;
  /** Their channel-wide and (for the notification's category) per-category settings. */
  preferences: PreferenceRow[];
  /** Erased with DELETE /users/{id} and not created again: nothing may be sent. */
  erased: boolean;
}

/**
 * Contacts, preferences (channel-wide and for `category`) and quiet hours of
 * many users in one query. Users never seen still get an entry (no contacts,
 * no opt-outs): notifying them needs no setup.
 */
export async function loadRecipients(db: Queryable, appId: string, userIds: string[], category: string | null = null): Promise<Map<string, RecipientProfile>> {
  const { rows } = await db.query<{
    user_id: string;
    email: string | null;
    phone: string | null;
    webhook_url: string | null;
    locale: string | null;
    timezone: string | null;
    quiet_start: string | null;
    quiet_end: string | null;
    device_count: number;
    preferences: PreferenceRow[] | null;
    erased: boolean;
  }>({
    text: `/* load_recipients */ SELECT k.user_id, u.email, u.phone,
        CASE WHEN u.webhook_disabled_at IS NULL THEN u.webhook_url END AS webhook_url,
        u.locale, u.timezone, u.quiet_start, u.quiet_end,
        (SELECT count(*)::int FROM devices d WHERE d.app_id = $1 AND d.user_id = k.user_id) AS device_count,
        (SELECT json_agg(json_build_object('category', p.category, 'channel', p.channel, 'enabled', p.enabled))
          FROM preferences p WHERE p.app_id = $1 AND p.user_id = k.user_id AND p.category IN ('', $3)) AS preferences,
        EXISTS (SELECT 1 FROM erased_users e WHERE e.app_id = $1 AND e.user_id = k.user_id) AS erased
      FROM unnest($2::text[]) AS k(user_id)
      LEFT JOIN users u ON u.app_id = $1 AND u.id = k.user_id`,
    values: [appId, userIds, category ?? ''],
  });
  return new Map(
    rows.map((r) => [
      r.user_id,
      {
        email: r.email,
        phone: r.phone,
        deviceCount: r.device_count,
        webhookUrl: r.webhook_url,
        locale: r.locale,
        timezone: r.timezone,
        quietHours: r.quiet_start && r.quiet_end ? { start: r.quiet_start, end: r.quiet_end } : null,
        preferences: r.preferences ?? [],
        erased: r.erased,
      },
    ]),
  );
}
