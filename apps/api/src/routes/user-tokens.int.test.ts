import { createHmac } from 'node:crypto';
import { createKey } from '@notify/core/access';
import { newId } from '@notify/core/platform';
import type { InboxPage, UserToken } from '@notify/core/schemas';
import { sseReader } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { recordingLogger, type LogLine } from '../testing/middleware-app.js';
import { inboxDeliverer } from '../testing/inbox-delivery.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let deliver: (userId: string, body: string) => Promise<string>;

beforeAll(async () => {
  t = await createTestApp();
  const toInbox = inboxDeliverer(t);
  deliver = (userId, body) => toInbox(userId, body, { title: null, data: null });
});
afterAll(() => t?.close());

async function mint(userId: string, body?: unknown, key = t.key): Promise<UserToken> {
  const res = await t.call('POST', `/users/${userId}/tokens`, body, { authorization: `Bearer ${key}` });
  expect(res.status).toBe(201);
  return json<UserToken>(res);
}

const withToken = (token: string) => ({ authorization: `Bearer ${token}` });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string) => token.split('.').map((p, i) => (i < 2 ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>) : p));

/** A token signed with the app's real secret, with claims of the test's choosing. */
async function forge(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const { rows } = await t.db.pool.query<{ s: string }>('SELECT user_token_secret AS s FROM apps WHERE id = $1', [t.appId]);
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac('sha256', rows[0]!.s).update(signed).digest('base64url')}`;
}

async function expectRefused(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect((await json<ErrorJson>(res)).error.code).toBe(code);
}

describe('POST /users/{user_id}/tokens', () => {
  it('mints an HS256 JWT naming the user, the app and the key, valid an hour by default and up to a day', async () => {
    const before = Date.now();
    const { token, expires_at } = await mint('tok-1');
    const [header, payload] = parts(token) as [Record<string, unknown>, Record<string, unknown>];
    const { rows } = await t.db.pool.query<{ id: string }>('SELECT id FROM api_keys WHERE app_id = $1', [t.appId]);
    expect(header).toMatchObject({ alg: 'HS256', kid: rows[0]!.id });
    expect(payload).toMatchObject({ sub: 'tok-1', aud: 'notify:user', app: t.appId });
    expect(payload.exp).toBe(Number(payload.iat) + 3600);
    expect(Math.abs(Date.parse(expires_at) - (before + 3600_000))).toBeLessThan(5000);

    const day = await mint('tok-1', { expires_in: 86_400 });
    expect(parts(day.token)[1]).toMatchObject({ exp: Number((parts(day.token)[1] as Record<string, unknown>).iat) + 86_400 });
    await expectRefused(await t.call('POST', '/users/tok-1/tokens', { expires_in: 86_401 }), 422, 'validation_failed');
    await expectRefused(await t.call('POST', '/users/tok-1/tokens', { expires_in: 3600, scope: 'all' }), 422, 'validation_failed');
  });

  it('needs the API key: a user token cannot mint tokens', async () => {
    const { token } = await mint('tok-2');
    await expectRefused(await t.call('POST', '/users/tok-2/tokens', undefined, withToken(token)), 403, 'forbidden');
  });
});

describe('a user token', () => {
  it("opens its user's inbox and preferences, as the API key does", async () => {
    const id = await deliver('alice', 'for alice');
    const { token } = await mint('alice');
    const page = await json<InboxPage>(await t.call('GET', '/users/alice/inbox', undefined, withToken(token)));
    expect(page.data.map((i) => i.id)).toEqual([id]);
    expect((await t.call('GET', '/users/alice/inbox/unread_count', undefined, withToken(token))).status).toBe(200);
    expect((await t.call('POST', `/users/alice/inbox/${id}/read`, undefined, withToken(token))).status).toBe(200);

    const prefs = await t.call('POST', '/users/alice/preferences', { channels: { email: false } }, withToken(token));
    expect(prefs.status).toBe(200);
    expect((await json<{ channels: Record<string, boolean> }>(await t.call('GET', '/users/alice/preferences', undefined, withToken(token)))).channels.email).toBe(false);
    // The audit log names the user, not the key, as who changed them.
    const { rows } = await t.db.pool.query("SELECT actor_type, actor_id FROM audit_events WHERE action = 'preferences.updated' AND target_id = 'alice'");
    expect(rows).toEqual([{ actor_type: 'user', actor_id: 'alice' }]);
  });

  it("is refused (403) on another user's inbox, and the refused request changes nothing", async () => {
    const bobs = await deliver('bob', 'for bob');
    const { token } = await mint('alice');
    await expectRefused(await t.call('GET', '/users/bob/inbox', undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('POST', '/users/bob/inbox/read-all', undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('POST', `/users/bob/inbox/${bobs}/read`, undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('POST', '/users/bob/preferences', { channels: { sms: false } }, withToken(token)), 403, 'forbidden');
    const { rows } = await t.db.pool.query("SELECT read_at FROM inbox_items WHERE user_id = 'bob'");
    expect(rows).toEqual([{ read_at: null }]);
    expect((await t.db.pool.query("SELECT 1 FROM preferences WHERE user_id = 'bob'")).rowCount).toBe(0);
  });

  it('is refused (403) on every route it does not open, which writes nothing', async () => {
    const { token } = await mint('alice');
    await expectRefused(await t.call('POST', '/notifications', { user_id: 'alice', message: 'x', channels: ['in_app'] }, withToken(token)), 403, 'forbidden');
    expect((await t.db.pool.query('SELECT 1 FROM notifications')).rowCount).toBe(0);
    await expectRefused(await t.call('GET', '/users/alice', undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('GET', '/users/alice/notifications', undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('PUT', '/users/alice', { email: 'a@example.com' }, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('GET', '/keys', undefined, withToken(token)), 403, 'forbidden');
    await expectRefused(await t.call('PUT', '/app/cors', { allowed_origins: ['https://evil.example'] }, withToken(token)), 403, 'forbidden');
    expect((await t.db.pool.query("SELECT 1 FROM users WHERE id = 'alice'")).rowCount).toBe(0);
    expect((await t.db.pool.query('SELECT cors_allowed_origins AS o FROM apps WHERE id = $1', [t.appId])).rows).toEqual([{ o: [] }]);
  });

  it('is refused (401) once expired, and when tampered with or signed with another secret', async () => {
    const { token } = await mint('alice');
    const [header, payload, signature] = parts(token) as [Record<string, unknown>, Record<string, unknown>, string];
    const now = Math.floor(Date.now() / 1000);
    const expired = await forge(header, { ...payload, iat: now - 7200, exp: now - 60 });
    const res = await t.call('GET', '/users/alice/inbox', undefined, withToken(expired));
    expect(res.status).toBe(401);
    expect((await json<ErrorJson>(res)).error.message).toMatch(/expired/);

    // Bob's claims under Alice's signature.
    await expectRefused(await t.call('GET', '/users/bob/inbox', undefined, withToken(`${b64(header)}.${b64({ ...payload, sub: 'bob' })}.${signature}`)), 401, 'unauthorized');
    const otherSecret = `${b64(header)}.${b64(payload)}`;
    const wrong = `${otherSecret}.${createHmac('sha256', 'not the secret').update(otherSecret).digest('base64url')}`;
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(wrong)), 401, 'unauthorized');
    // Signed right, but for another audience, with no algorithm, or naming a key that does not exist.
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(await forge(header, { ...payload, aud: 'other' }))), 401, 'unauthorized');
    const none = `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(none)), 401, 'unauthorized');
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(await forge({ ...header, kid: newId() }, payload))), 401, 'unauthorized');
    // Another app's claim under this app's secret.
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(await forge(header, { ...payload, app: 'other-app' }))), 401, 'unauthorized');
  });

  it("is refused (401) once the key that minted it is revoked; tokens of the app's other keys keep working", async () => {
    const second = await createKey(t.db, t.appId, 'front end');
    const doomed = (await mint('alice', undefined, second.key)).token;
    const kept = (await mint('alice')).token;
    expect((await t.call('GET', '/users/alice/inbox', undefined, withToken(doomed))).status).toBe(200);
    expect((await t.call('DELETE', `/keys/${second.id}`)).status).toBe(204);
    await expectRefused(await t.call('GET', '/users/alice/inbox', undefined, withToken(doomed)), 401, 'unauthorized');
    expect((await t.call('GET', '/users/alice/inbox', undefined, withToken(kept))).status).toBe(200);
  });

  it('counts its failures with the failed API keys of the address: past the budget, 429', async () => {
    const app = createApp({ ...t.deps, queuePrefix: `${t.env.QUEUE_PREFIX}:throttle`, security: { ...t.deps.security, authFailuresPerMinute: 2 } });
    const { token } = await mint('alice');
    const tampered = `${token.slice(0, -2)}xx`;
    const get = (credential: string) => app.request('/users/alice/inbox', { headers: withToken(credential) });
    expect((await get(tampered)).status).toBe(401);
    expect((await get('nk_live_wrong')).status).toBe(401);
    const third = await get(tampered);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('the request rate limit', () => {
  it("counts a user token apart from its key and from other users' tokens", async () => {
    const app = createApp({ ...t.deps, security: { ...t.deps.security, rateLimitPerSecond: 2 } });
    const key = (await createKey(t.db, t.appId, 'limited')).key;
    const [rl1, rl2] = [(await mint('rl-1', undefined, key)).token, (await mint('rl-2', undefined, key)).token];
    /** How many of three requests in a row got through (2 per second are allowed). */
    const passed = async (path: string, credential: string) => {
      let ok = 0;
      for (let i = 0; i < 3; i++) if ((await app.request(path, { headers: withToken(credential) })).status === 200) ok++;
      return ok;
    };
    // Each credential's three requests should fall in one 1-second window (after the one the mints counted in);
    // three that straddle two windows all pass: try again.
    let counts: number[] = [];
    for (let tries = 0; tries < 5; tries++) {
      await new Promise((r) => setTimeout(r, 1100));
      counts = [await passed('/users/rl-1/inbox/unread_count', rl1), await passed('/users/rl-2/inbox/unread_count', rl2), await passed('/users/rl-1/inbox', key)];
      if (counts.every((n) => n < 3)) break;
    }
    expect(counts).toEqual([2, 2, 2]);
  });
});

describe('the inbox stream with ?token=', () => {
  it('receives live items, and the token is written in no log line', async () => {
    const lines: LogLine[] = [];
    const app = createApp({ ...t.deps, log: recordingLogger(lines) });
    const { token } = await mint('streamer');
    const res = await app.request(`/users/streamer/inbox/stream?token=${token}`);
    expect(res.status).toBe(200);
    const s = sseReader(res.body!);
    expect((await s.next()).event).toBe('ready');
    const id = await deliver('streamer', 'live');
    expect(await s.next(5000)).toMatchObject({ event: 'item', id });
    await s.close();
    // A refused one is logged too, without its token.
    expect((await app.request(`/users/someone-else/inbox/stream?token=${token}`)).status).toBe(403);
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.path, l.status])).toEqual([
      ['/users/streamer/inbox/stream', 200],
      ['/users/someone-else/inbox/stream', 403],
    ]);
    const written = JSON.stringify(lines);
    expect(written).not.toContain(token);
    expect(written).not.toContain(token.split('.')[2]);
  });

  it('takes ?token= on the stream only', async () => {
    const { token } = await mint('streamer');
    await expectRefused(await t.call('GET', `/users/streamer/inbox?token=${token}`, undefined, { authorization: '' }), 401, 'unauthorized');
  });
});
