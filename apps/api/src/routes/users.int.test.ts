import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification, NotificationPage, Preferences, User } from '@notify/core/schemas';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: 'hooks.test' });
});
afterAll(() => t?.close());

describe('PUT /users/{user_id}', () => {
  it('creates a user (201), then merges updates (200): omitted fields stay, null clears', async () => {
    const created = await t.call('PUT', '/users/u-1', { email: 'ada@example.com', phone: '+14155550100', timezone: 'Europe/Berlin', locale: 'pt-BR' });
    expect(created.status).toBe(201);
    expect(await json<User>(created)).toMatchObject({ user_id: 'u-1', email: 'ada@example.com', timezone: 'Europe/Berlin', locale: 'pt-BR', devices: [] });

    const updated = await t.call('PUT', '/users/u-1', { phone: null, locale: 'de' });
    expect(updated.status).toBe(200);
    expect(await json<User>(updated)).toMatchObject({ email: 'ada@example.com', phone: null, locale: 'de', timezone: 'Europe/Berlin' });
  });

  it('replaces the device list when given one', async () => {
    const sub = { endpoint: 'https://push.example.com/abc', keys: { p256dh: 'p', auth: 'a' } };
    await t.call('PUT', '/users/u-2', {
      devices: [
        { kind: 'fcm', token: 't1' },
        { kind: 'webpush', subscription: sub },
      ],
    });
    const res = await t.call('PUT', '/users/u-2', { devices: [{ kind: 'fcm', token: 't2' }] });
    const body = await json<User>(res);
    expect(body.devices.map((d) => [d.kind, d.token])).toEqual([['fcm', 't2']]);
  });

  const bad: [string, unknown, string][] = [
    ['an invalid email', { email: 'not-an-email' }, 'email'],
    ['a phone that is not E.164', { phone: '0170 1234567' }, 'phone'],
    ['an unknown time zone', { timezone: 'Mars/Olympus' }, 'timezone'],
    ['an invalid locale', { locale: 'not a locale!' }, 'locale'],
    [
      'a web push endpoint that is not https',
      { devices: [{ kind: 'webpush', subscription: { endpoint: 'http://x.example', keys: { p256dh: 'p', auth: 'a' } } }] },
      'devices.0.subscription.endpoint',
    ],
    ['an unknown field', { mail: 'a@example.com' }, ''],
  ];
  for (const [what, body, path] of bad) {
    it(`refuses ${what} with 422 and writes nothing`, async () => {
      const res = await t.call('PUT', '/users/u-bad', body);
      expect(res.status).toBe(422);
      const { error } = await json<ErrorJson>(res);
      expect(error.code).toBe('validation_failed');
      expect(error.details?.map((d) => d.path)).toContain(path);
      expect(await t.db.prisma.user.count({ where: { id: 'u-bad' } })).toBe(0);
    });
  }

  it('refuses a user id with characters outside the allowed set', async () => {
    const res = await t.call('PUT', '/users/a%20b', { email: 'a@example.com' });
    expect(res.status).toBe(422);
  });
});

describe('webhook endpoints', () => {
  it('generates a whsec_ signing secret when the URL is set, keeps it while the URL stays, renews it when it changes', async () => {
    const set = await json<User>(await t.call('PUT', '/users/w-1', { webhook_url: 'https://hooks.test/a' }));
    expect(set.webhook_url).toBe('https://hooks.test/a');
    expect(set.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect((await json<User>(await t.call('GET', '/users/w-1'))).webhook_secret).toBe(set.webhook_secret);

    const same = await json<User>(await t.call('PUT', '/users/w-1', { webhook_url: 'https://hooks.test/a', email: 'w@example.com' }));
    expect(same.webhook_secret).toBe(set.webhook_secret);
    const changed = await json<User>(await t.call('PUT', '/users/w-1', { webhook_url: 'https://hooks.test/b' }));
    expect(changed.webhook_secret).not.toBe(set.webhook_secret);

    const cleared = await json<User>(await t.call('PUT', '/users/w-1', { webhook_url: null }));
    expect(cleared).toMatchObject({ webhook_url: null, webhook_secret: null });
  });

  it('re-enables an endpoint disabled by a 410 when its URL is set again', async () => {
    await t.call('PUT', '/users/w-2', { webhook_url: 'https://hooks.test/x' });
    await t.db.prisma.user.update({ where: { appId_id: { appId: t.appId, id: 'w-2' } }, data: { webhookDisabledAt: new Date() } });
    expect((await json<User>(await t.call('GET', '/users/w-2'))).webhook_disabled_at).not.toBeNull();
    const again = await json<User>(await t.call('PUT', '/users/w-2', { webhook_url: 'https://hooks.test/x' }));
    expect(again.webhook_disabled_at).toBeNull();
  });

  for (const url of [
    'http://127.0.0.1/hook',
    'http://2130706433/hook',
    'http://0x7f.0.0.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.8/hook',
    'http://localhost:9000/hook',
    'ftp://hooks.test/x',
  ]) {
    it(`refuses ${url} with 422 and stores nothing`, async () => {
      const res = await t.call('PUT', '/users/w-bad', { webhook_url: url });
      expect(res.status).toBe(422);
      const { error } = await json<ErrorJson>(res);
      expect(error.details?.map((d) => d.path)).toEqual(['webhook_url']);
      expect(await t.db.prisma.user.count({ where: { id: 'w-bad' } })).toBe(0);
    });
  }
});

describe('GET /users/{user_id}', () => {
  it('answers 404 for a user never created', async () => {
    const res = await t.call('GET', '/users/ghost');
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error).toMatchObject({ code: 'not_found', message: 'User not found' });
  });
});

describe('preferences', () => {
  it('shows every channel enabled by default', async () => {
    const res = await t.call('GET', '/users/p-1/preferences');
    const prefs = await json<Preferences>(res);
    const all = { email: true, sms: true, push: true, in_app: true, webhook: true };
    expect(prefs.channels).toEqual(all);
    expect(prefs.categories).toEqual({
      marketing: { required: false, channels: all },
      security: { required: true, channels: all },
      transactional: { required: false, channels: all },
    });
  });

  it('sets the channels given and keeps the others', async () => {
    await t.call('POST', '/users/p-1/preferences', { channels: { sms: false, email: false } });
    const res = await t.call('POST', '/users/p-1/preferences', { channels: { email: true } });
    expect(res.status).toBe(200);
    expect((await json<Preferences>(res)).channels).toEqual({ email: true, sms: false, push: true, in_app: true, webhook: true });
  });

  it('refuses an unknown channel or a non-boolean', async () => {
    for (const channels of [{ fax: false }, { sms: 'no' }]) {
      const res = await t.call('POST', '/users/p-1/preferences', { channels });
      expect(res.status).toBe(422);
    }
  });
});

describe('GET /users/{user_id}/notifications', () => {
  it('pages newest first with a cursor and filters by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.call('POST', '/notifications', { user_id: 'l-1', message: `m${i}`, channels: [i % 2 ? 'in_app' : 'email'] });
      ids.push((await json<Notification>(res)).id);
    }
    const first = await json<NotificationPage>(await t.call('GET', '/users/l-1/notifications?limit=2'));
    expect(first.data.map((n) => n.id)).toEqual([ids[4], ids[3]]);
    const second = await json<NotificationPage>(await t.call('GET', `/users/l-1/notifications?limit=2&cursor=${first.next_cursor}`));
    expect(second.data.map((n) => n.id)).toEqual([ids[2], ids[1]]);
    const third = await json<NotificationPage>(await t.call('GET', `/users/l-1/notifications?limit=2&cursor=${second.next_cursor}`));
    expect(third).toMatchObject({ data: [{ id: ids[0] }], next_cursor: null });

    // l-1 has no email address, so the email ones were skipped.
    const skipped = await json<NotificationPage>(await t.call('GET', '/users/l-1/notifications?status=skipped'));
    expect(skipped.data.map((n) => n.id)).toEqual([ids[4], ids[2], ids[0]]);
  });

  it('refuses a bad cursor (400), a limit over 100 and an unknown status (422)', async () => {
    expect((await t.call('GET', '/users/l-1/notifications?cursor=garbage')).status).toBe(400);
    expect((await t.call('GET', '/users/l-1/notifications?limit=101')).status).toBe(422);
    expect((await t.call('GET', '/users/l-1/notifications?status=lost')).status).toBe(422);
  });
});
