import { getPreferences, unsubscribeToken } from '@notify/core/audience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

const SECRET = 'unsubscribe-secret-of-at-least-32-characters';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ UNSUBSCRIBE_SECRET: SECRET, PUBLIC_URL: 'https://notify.example.com' });
});
afterAll(() => t?.close());

/** What a mail client sends for List-Unsubscribe-Post (RFC 8058). */
const oneClick = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' };
const emailOf = async (userId: string) => (await getPreferences(t.db, t.appId, userId)).categories.marketing?.channels.email;

describe('/unsubscribe/{token}', () => {
  it('POST opts the user out of the category for email, idempotently, as the user (audited)', async () => {
    const token = unsubscribeToken(SECRET, { appId: t.appId, userId: 'reader-1', category: 'marketing' });
    for (let i = 0; i < 2; i++) {
      const res = await t.app.request(`/unsubscribe/${token}`, oneClick);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ unsubscribed: true, category: 'marketing' });
    }
    const prefs = await getPreferences(t.db, t.appId, 'reader-1');
    expect(prefs.categories.marketing?.channels).toMatchObject({ email: false, sms: true });
    expect(prefs.channels.email).toBe(true);
    const audit = await json<{ data: { actor_type: string; actor_id: string; action: string }[] }>(await t.call('GET', '/audit-events?target_id=reader-1'));
    expect(audit.data[0]).toMatchObject({ actor_type: 'user', actor_id: 'reader-1', action: 'preferences.updated' });
  });

  it('a link of a notification without a category opts out of email as a whole', async () => {
    const token = unsubscribeToken(SECRET, { appId: t.appId, userId: 'reader-2', category: null });
    expect(await (await t.app.request(`/unsubscribe/${token}`, oneClick)).json()).toEqual({ unsubscribed: true, category: null });
    expect((await getPreferences(t.db, t.appId, 'reader-2')).channels.email).toBe(false);
  });

  it('GET shows a self-contained page whose button posts back, and changes nothing', async () => {
    const token = unsubscribeToken(SECRET, { appId: t.appId, userId: 'reader-3', category: 'marketing' });
    const res = await t.app.request(`/unsubscribe/${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toMatch(/<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
    expect(html).not.toMatch(/https?:\/\/|<script/);
    expect(await emailOf('reader-3')).toBe(true);

    // The button's post, from a browser, answers a page.
    const done = await t.app.request(`/unsubscribe/${token}`, { ...oneClick, headers: { ...oneClick.headers, accept: 'text/html' } });
    expect(await done.text()).toContain('You will no longer get emails of the category “marketing”.');
    expect(await emailOf('reader-3')).toBe(false);
  });

  it.each([
    ['tampered', (token: string) => `${token.slice(0, -2)}xx`],
    ['signed with another secret', () => unsubscribeToken('another-secret-of-at-least-32-characters!', { appId: 'x', userId: 'reader-4', category: 'marketing' })],
    [
      'for another user (payload swapped)',
      (token: string) => `${Buffer.from(JSON.stringify({ a: 'x', u: 'victim', c: 'marketing' })).toString('base64url')}.${token.split('.')[1]}`,
    ],
    ['malformed', () => 'not-a-token'],
  ])('refuses a %s token with 404 in the error shape, writing nothing', async (_what, make) => {
    const token = make(unsubscribeToken(SECRET, { appId: t.appId, userId: 'reader-4', category: 'marketing' }));
    for (const init of [oneClick, {}]) {
      const res = await t.app.request(`/unsubscribe/${token}`, init);
      expect(res.status).toBe(404);
      expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
    }
    expect(await t.db.prisma.preference.count({ where: { userId: { in: ['reader-4', 'victim'] } } })).toBe(0);
  });
});
