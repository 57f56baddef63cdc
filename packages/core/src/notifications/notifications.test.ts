import { describe, expect, it } from 'vitest';
import type { Channel } from '../platform/channels.js';
import { planNotification } from './plan.js';
import type { RecipientProfile } from './recipients.js';
import type { NotificationSpec } from './spec.js';
import type { PreferenceRow } from '../audience/preferences.js';
import { CreateNotificationBody } from '../schemas/notifications.js';
import { TemplateBody } from '../schemas/templates.js';
import { renderTemplate } from '../content/engine.js';

const now = new Date('2026-01-15T12:00:00Z');
const spec = (over: Partial<NotificationSpec> = {}): NotificationSpec => ({
  appId: 'app',
  message: 'Hello',
  template: null,
  channels: ['email', 'sms', 'in_app'],
  priority: 'normal',
  subject: null,
  type: null,
  category: null,
  categoryRequired: false,
  locale: null,
  data: null,
  sendAt: null,
  batchId: null,
  requestId: null,
  ...over,
});
const person = (over: Partial<RecipientProfile> = {}): RecipientProfile => ({
  email: 'a@example.com',
  phone: '+14155550100',
  deviceCount: 0,
  webhookUrl: null,
  locale: null,
  timezone: null,
  quietHours: null,
  preferences: [],
  erased: false,
  ...over,
});
const fates = (channels: Channel[], s: NotificationSpec, r: RecipientProfile | undefined) =>
  planNotification({ ...s, channels }, 'u1', r, undefined, now).deliveries.map((d) => [d.channel, d.status, d.reason]);
const off = (channel: Channel, category = ''): PreferenceRow => ({ category, channel, enabled: false });
const on = (channel: Channel, category = ''): PreferenceRow => ({ category, channel, enabled: true });

describe('planNotification', () => {
  it('queues channels the user can be reached on', () => {
    expect(fates(['email', 'sms', 'in_app'], spec(), person())).toEqual([
      ['email', 'queued', null],
      ['sms', 'queued', null],
      ['in_app', 'queued', null],
    ]);
  });

  it('skips channels without a contact as no_contact; an unknown user still gets the in-app inbox', () => {
    expect(fates(['email', 'sms', 'push', 'in_app', 'webhook'], spec(), undefined).map((f) => f[2])).toEqual(['no_contact', 'no_contact', 'no_contact', null, 'no_contact']);
    expect(fates(['webhook'], spec(), person({ webhookUrl: 'https://hooks.example.com/x' }))).toEqual([['webhook', 'queued', null]]);
  });

  it('skips an opted-out channel as opted_out, even with a contact', () => {
    expect(fates(['email', 'sms'], spec(), person({ preferences: [off('sms')] }))).toEqual([
      ['email', 'queued', null],
      ['sms', 'skipped', 'opted_out'],
    ]);
  });

  it('applies a category opt-out, where the category setting beats the channel one', () => {
    const prefs = [off('email', 'marketing'), off('sms'), on('sms', 'marketing')];
    expect(fates(['email', 'sms'], spec({ category: 'marketing' }), person({ preferences: prefs }))).toEqual([
      ['email', 'skipped', 'opted_out'],
      ['sms', 'queued', null],
    ]);
    // Without the category, only the channel-wide settings count.
    expect(fates(['email', 'sms'], spec(), person({ preferences: prefs })).map((f) => f[1])).toEqual(['queued', 'skipped']);
  });

  it('sends nothing to an erased user, whatever the category', () => {
    expect(fates(['email', 'in_app'], spec({ category: 'security', categoryRequired: true }), person({ erased: true }))).toEqual([
      ['email', 'skipped', 'erased'],
      ['in_app', 'skipped', 'erased'],
    ]);
  });

  it('ignores every opt-out for a required category', () => {
    const prefs = [off('email', 'security'), off('sms')];
    expect(fates(['email', 'sms'], spec({ category: 'security', categoryRequired: true }), person({ preferences: prefs })).map((f) => f[1])).toEqual(['queued', 'queued']);
  });

  it('holds email, SMS and push until quiet hours end, in the user time zone; not in-app, not critical', () => {
    const night = person({ timezone: 'Europe/Berlin', quietHours: { start: '22:00', end: '07:00' } });
    const late = new Date('2026-01-15T22:30:00Z'); // 23:30 in Berlin
    const plan = planNotification(spec({ channels: ['email', 'in_app'] }), 'u1', night, undefined, late);
    expect(plan.deliveries.map((d) => d.scheduledFor?.toISOString() ?? null)).toEqual(['2026-01-16T06:00:00.000Z', null]);
    const critical = planNotification(spec({ channels: ['email'], priority: 'critical' }), 'u1', night, undefined, late);
    expect(critical.deliveries[0]!.scheduledFor).toBeNull();
  });

  it('schedules for send_at, and past quiet hours when send_at falls inside them', () => {
    const at = new Date('2026-01-15T15:00:00Z');
    expect(planNotification(spec({ sendAt: at }), 'u1', person(), undefined, now).deliveries[0]!.scheduledFor).toEqual(at);
    const night = person({ timezone: 'UTC', quietHours: { start: '14:00', end: '16:00' } });
    expect(planNotification(spec({ sendAt: at, channels: ['sms'] }), 'u1', night, undefined, now).deliveries[0]!.scheduledFor?.toISOString()).toBe('2026-01-15T16:00:00.000Z');
  });

  it("renders a template in the user's language, merging per-recipient data", () => {
    const body = TemplateBody.parse({
      default_locale: 'en',
      locales: { en: { sms: { text: 'Hi {{ name }}, {{ code }}' } }, pt: { sms: { text: 'Olá {{ name }}, {{ code }}' } } },
    });
    const s = spec({ message: null, template: { key: 't', version: 3, body }, channels: ['sms'], data: { code: 42 } });
    // Rendering happens in the render pool beforehand; here, the same engine in process.
    const rendered = { pt: { content: renderTemplate(body, 'pt', ['sms'], { code: 42, name: 'Ana' }) } };
    const plan = planNotification(s, 'u1', person({ locale: 'pt-BR' }), { name: 'Ana' }, now, rendered);
    expect(plan).toMatchObject({ locale: 'pt', template: { key: 't', version: 3 }, content: { sms: { text: 'Olá Ana, 42' } }, data: { code: 42, name: 'Ana' } });
  });

  it('gives the notification and each delivery distinct time-ordered ids', () => {
    const plan = planNotification(spec({ channels: ['email', 'sms'] }), 'u1', undefined, undefined, now);
    const ids = [plan.id, ...plan.deliveries.map((d) => d.id)];
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('CreateNotificationBody', () => {
  const ok = { user_id: 'u', message: 'm', channels: ['sms'] };
  it.each([
    ['a repeated channel', { ...ok, channels: ['sms', 'sms'] }],
    ['an unknown field', { ...ok, extra: 1 }],
    ['data over the limit', { ...ok, data: { blob: 'x'.repeat(20_000) } }],
    ['both message and template', { ...ok, template: 'welcome' }],
    ['neither message nor template', { user_id: 'u', channels: ['sms'] }],
    ['a message without channels', { user_id: 'u', message: 'm' }],
    ['both user_id and topic', { ...ok, topic: 'news' }],
    ['neither user_id nor topic', { message: 'm', channels: ['sms'] }],
    ['send_at without an offset', { ...ok, send_at: '2026-01-15T12:00:00' }],
  ])('refuses %s', (_what, body) => {
    expect(CreateNotificationBody.safeParse(body).success).toBe(false);
  });

  it('accepts a template without channels, and a topic', () => {
    expect(CreateNotificationBody.safeParse({ user_id: 'u', template: 'welcome' }).success).toBe(true);
    expect(CreateNotificationBody.safeParse({ topic: 'news', message: 'm', channels: ['in_app'], send_at: '2026-01-15T12:00:00+01:00' }).success).toBe(true);
  });
});
