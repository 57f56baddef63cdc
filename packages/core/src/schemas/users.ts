import { z } from 'zod';
import { CHANNELS } from '../platform/channels.js';
import { LIMITS } from '../platform/limits.js';
import { LocaleTag, Timestamp, UserId } from './common.js';
import { CategoryKey } from './templates.js';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, 00:00 to 23:59');

export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +14155550100');

const TimeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone such as Europe/Berlin' },
);

const FcmDevice = z.object({ kind: z.literal('fcm'), token: z.string().min(1).max(4096) });
const WebPushDevice = z.object({
  kind: z.literal('webpush'),
  subscription: z.object({
    endpoint: z.url({ protocol: /^https$/ }).max(2048),
    keys: z.object({ p256dh: z.string().min(1).max(512), auth: z.string().min(1).max(512) }),
  }),
});
export const DeviceInput = z.discriminatedUnion('kind', [FcmDevice, WebPushDevice]).meta({ id: 'DeviceInput' });
export type DeviceInput = z.infer<typeof DeviceInput>;

/** Omitted fields keep their value; `null` clears one; `devices`, when given, replaces the list. */
export const PutUserBody = z
  .object({
    email: z.email().max(320).nullable().optional(),
    phone: E164.nullable().optional(),
    locale: LocaleTag.nullable().optional(),
    timezone: TimeZone.nullable().optional(),
    devices: z.array(DeviceInput).max(LIMITS.devicesPerUser).optional(),
    quiet_hours: z
      .object({ start: HHMM, end: HHMM })
      .strict()
      .nullable()
      .optional()
      .meta({ description: 'Email, SMS and push held back inside this window (user time zone, else UTC), except critical' }),
    webhook_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .nullable()
      .optional()
      .meta({ description: 'Endpoint for the webhook channel. Setting it generates a new signing secret.' }),
  })
  .strict()
  .meta({ id: 'PutUser' });
export type PutUserBody = z.infer<typeof PutUserBody>;

export const Device = z
  .object({
    id: z.uuid(),
    kind: z.enum(['fcm', 'webpush']),
    token: z.string().meta({ description: 'FCM token, or the Web Push endpoint' }),
    created_at: Timestamp,
  })
  .meta({ id: 'Device' });

export const User = z
  .object({
    user_id: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    locale: z.string().nullable(),
    timezone: z.string().nullable(),
    devices: z.array(Device),
    quiet_hours: z.object({ start: z.string(), end: z.string() }).nullable(),
    webhook_url: z.string().nullable(),
    webhook_secret: z.string().nullable().meta({ description: 'Standard Webhooks signing secret (whsec_...) for verifying our requests' }),
    webhook_disabled_at: Timestamp.nullable().meta({ description: 'Set when the endpoint answered 410 Gone; setting the URL again re-enables it' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const UserParams = z.object({ user_id: UserId });

const ChannelSwitches = z.partialRecord(z.enum(CHANNELS), z.boolean());

export const PutPreferencesBody = z
  .object({
    channels: ChannelSwitches.optional().meta({ description: 'Channel-wide: true opts in, false opts out' }),
    categories: z
      .record(CategoryKey, z.union([z.boolean(), ChannelSwitches]))
      .optional()
      .meta({ description: 'Per category: a boolean for every channel, or per-channel switches' }),
  })
  .strict()
  .refine((b) => b.channels !== undefined || b.categories !== undefined, { message: 'give channels or categories' })
  .meta({ id: 'SetPreferences' });
export type PutPreferencesBody = z.infer<typeof PutPreferencesBody>;

const EffectiveChannels = z.record(z.enum(CHANNELS), z.boolean());

export const Preferences = z
  .object({
    user_id: z.string(),
    channels: EffectiveChannels.meta({ description: 'Effective setting per channel (default true)' }),
    categories: z
      .record(z.string(), z.object({ required: z.boolean(), channels: EffectiveChannels }))
      .meta({ description: 'Effective setting per category and channel: the category setting, else the channel one; a required category is always on' }),
  })
  .meta({ id: 'Preferences' });
export type Preferences = z.infer<typeof Preferences>;
