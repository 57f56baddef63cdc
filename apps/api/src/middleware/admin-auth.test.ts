import { describe, expect, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { adminAuth } from './admin-auth.js';

const basic = (userPass: string) => ({ authorization: `Basic ${Buffer.from(userPass).toString('base64')}` });

function app(credentials = { user: 'ops', password: 's3cret:with-colon' }) {
  const a = middlewareApp();
  a.use(adminAuth(credentials));
  a.get('/admin', (c) => c.json({ ok: true }));
  return a;
}

describe('adminAuth', () => {
  it('lets the configured user and password through (a password may hold a colon)', async () => {
    expect(await send(app(), '/admin', { headers: basic('ops:s3cret:with-colon') })).toMatchObject({ status: 200, body: { ok: true } });
    expect((await send(app(), '/admin', { headers: { authorization: `basic ${Buffer.from('ops:s3cret:with-colon').toString('base64')}` } })).status).toBe(200);
  });

  it.each([
    ['no Authorization', {}],
    ['a wrong password', basic('ops:wrong')],
    ['a wrong user', basic('root:s3cret:with-colon')],
    ['a password prefix', basic('ops:s3cret')],
    ['no colon', basic('ops')],
    ['an empty user', basic(':s3cret:with-colon')],
    ['a Bearer token', { authorization: 'Bearer nk_live_x' }],
  ])('answers 401 with a Basic challenge for %s', async (_, headers) => {
    const res = await send(app(), '/admin', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="notify admin", charset="UTF-8"');
    expect(res.body).toMatchObject({ error: { code: 'unauthorized', message: 'Admin credentials required' } });
  });

  it('is locked when no password is configured, even for an empty one sent', async () => {
    const res = await send(app({ user: 'ops', password: '' }), '/admin', { headers: basic('ops:') });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { message: expect.stringMatching(/ADMIN_PASSWORD/) } });
  });
});
