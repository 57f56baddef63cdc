import { describe, expect, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { sameOrigin } from './same-origin.js';

const app = middlewareApp();
app.use(sameOrigin());
app.all('/admin/act', (c) => c.json({ acted: true }));

const call = (method: string, headers: Record<string, string>) => send(app, 'http://notify.example:8080/admin/act', { method, headers });

describe('sameOrigin', () => {
  it.each(['GET', 'HEAD', 'OPTIONS'])('lets a %s through from anywhere: it changes nothing', async (method) => {
    expect((await call(method, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).status).toBe(200);
  });

  it.each(['same-origin', 'none'])('lets a POST with Sec-Fetch-Site: %s through', async (site) => {
    expect((await call('POST', { 'sec-fetch-site': site, origin: 'https://evil.example' })).status).toBe(200);
  });

  it.each(['cross-site', 'same-site'])('refuses a POST with Sec-Fetch-Site: %s (403 forbidden), whatever its Origin', async (site) => {
    const res = await call('POST', { 'sec-fetch-site': site, origin: 'http://notify.example:8080' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'forbidden', message: expect.stringMatching(/Cross-origin POST refused/) } });
  });

  it('without Sec-Fetch-Site, judges Origin against Host, ignoring the scheme', async () => {
    expect((await call('DELETE', { origin: 'https://notify.example:8080', host: 'notify.example:8080' })).status).toBe(200);
    expect((await call('POST', { origin: 'http://notify.example:8080' })).status).toBe(200); // Host taken from the URL
    expect((await call('POST', { origin: 'https://evil.example', host: 'notify.example:8080' })).status).toBe(403);
    expect((await call('PUT', { origin: 'null', host: 'notify.example:8080' })).status).toBe(403);
  });

  it('lets a request with neither header through: not a browser, so no ambient credentials', async () => {
    expect((await call('POST', {})).status).toBe(200);
  });
});
