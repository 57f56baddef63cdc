import { createKey, ensureApp } from '@notify/core/access';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_ALLOWED_HOSTS: 'hooks.test' });
});
afterAll(() => t?.close());

interface Hook {
  id: string;
  url: string;
  secret: string;
  events: string[];
}

describe('status webhooks API', () => {
  it('registers an endpoint with a signing secret, lists, shows and deletes it', async () => {
    const res = await t.call('POST', '/webhooks', { url: 'https://hooks.test/status' });
    expect(res.status).toBe(201);
    const hook = await json<Hook>(res);
    expect(hook).toMatchObject({ url: 'https://hooks.test/status', events: ['delivery.delivered', 'delivery.failed', 'notification.completed', 'delivery.provider_status'] });
    expect(hook.secret).toMatch(/^whsec_/);
    const only = await json<Hook>(await t.call('POST', '/webhooks', { url: 'https://hooks.test/failures', events: ['delivery.failed'] }));
    expect(only.events).toEqual(['delivery.failed']);
    expect((await json<{ data: Hook[] }>(await t.call('GET', '/webhooks'))).data.map((h) => h.id)).toEqual([hook.id, only.id]);
    expect((await json<Hook>(await t.call('GET', `/webhooks/${hook.id}`))).secret).toBe(hook.secret);
    expect((await json<{ data: unknown[] }>(await t.call('GET', `/webhooks/${hook.id}/deliveries`))).data).toEqual([]);
    expect((await t.call('DELETE', `/webhooks/${only.id}`)).status).toBe(204);
    expect((await t.call('GET', `/webhooks/${only.id}`)).status).toBe(404);
  });

  it.each([
    ['a private address', { url: 'http://10.0.0.1/x' }, 'url'],
    ['the metadata address', { url: 'http://169.254.169.254/' }, 'url'],
    ['an unknown event', { url: 'https://hooks.test/x', events: ['delivery.sent'] }, 'events.0'],
    ['a non-http URL', { url: 'ftp://hooks.test/x' }, 'url'],
  ])('refuses %s (422)', async (_what, body, path) => {
    const res = await t.call('POST', '/webhooks', body);
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.map((d) => d.path)).toContain(path);
  });

  it("answers 404 for another app's endpoint", async () => {
    const hook = await json<Hook>(await t.call('POST', '/webhooks', { url: 'https://hooks.test/mine' }));
    const other = (await createKey(t.db, await ensureApp(t.db, 'hooks-other'))).key;
    const as = { authorization: `Bearer ${other}` };
    expect((await t.call('GET', `/webhooks/${hook.id}`, undefined, as)).status).toBe(404);
    expect((await t.call('DELETE', `/webhooks/${hook.id}`, undefined, as)).status).toBe(404);
    expect((await t.call('GET', `/webhooks/${hook.id}/deliveries`, undefined, as)).status).toBe(404);
  });
});
