import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableWebhook, removeDevices } from '../deliveries/store.js';
import { setPreferences } from './preferences.js';
import { PutPreferencesBody, PutUserBody } from '../schemas/users.js';
import { createTestEnv, type TestEnv } from '../testing/index.js';
import { getUser, putUser, type WebhookPolicy } from './users.js';

/**
 * A user's updated_at moves on every change of the user, whichever part
 * changes and whoever changes it: the PUT (profile, contacts, quiet hours,
 * webhook, devices alone), the preferences sub-resource, and the worker when a
 * provider reports a device or an endpoint gone.
 */
let t: TestEnv;
// hooks.test is exempt from the SSRF guard, so no name is ever resolved.
const webhooks: WebhookPolicy = { allowedHosts: new Set(['hooks.test']) };

beforeAll(async () => {
  t = await createTestEnv();
});
afterAll(() => t?.close());

let seq = 0;
async function freshUser(body: Record<string, unknown> = { email: 'a@example.com' }) {
  const userId = `upd-${++seq}`;
  const { user } = await putUser(t.db, t.appId, userId, PutUserBody.parse(body), webhooks);
  return { userId, before: user };
}

/** updated_at after `change`, which must be later than before it (timestamps have millisecond precision). */
async function updatedAcross(userId: string, change: () => Promise<unknown>): Promise<{ before: string; after: string }> {
  const before = (await getUser(t.db, t.appId, userId)).updated_at;
  await sleep(5);
  await change();
  return { before, after: (await getUser(t.db, t.appId, userId)).updated_at };
}

const put = (userId: string, body: Record<string, unknown>) => () => putUser(t.db, t.appId, userId, PutUserBody.parse(body), webhooks);
const fcm = (token: string) => ({ kind: 'fcm', token });

describe("a user's updated_at", () => {
  it.each<[string, Record<string, unknown>]>([
    ['the email', { email: 'b@example.com' }],
    ['the phone', { phone: '+14155550100' }],
    ['locale and time zone', { locale: 'de-DE', timezone: 'Europe/Berlin' }],
    ['quiet hours', { quiet_hours: { start: '22:00', end: '07:00' } }],
    ['the webhook URL', { webhook_url: 'https://hooks.test/in' }],
    ['only the devices', { devices: [fcm('token-1')] }],
    ['only the devices, cleared', { devices: [] }],
  ])('moves when a PUT changes %s', async (_what, body) => {
    const { userId } = await freshUser({ email: 'a@example.com', devices: [fcm('token-0')] });
    const { before, after } = await updatedAcross(userId, put(userId, body));
    expect(after > before).toBe(true);
  });

  it('moves when a PUT replaces the devices and the answer carries the new value', async () => {
    const { userId, before } = await freshUser();
    await sleep(5);
    const { user } = await put(userId, { devices: [fcm('token-a'), fcm('token-b')] })();
    expect(user.devices.map((d) => d.token)).toEqual(['token-a', 'token-b']);
    expect(user.updated_at > before.updated_at).toBe(true);
    expect((await getUser(t.db, t.appId, userId)).updated_at).toBe(user.updated_at);
  });

  it('moves when the preferences change', async () => {
    const { userId } = await freshUser();
    const { before, after } = await updatedAcross(userId, () => setPreferences(t.db, t.appId, userId, PutPreferencesBody.parse({ channels: { email: false } })));
    expect(after > before).toBe(true);
  });

  it('moves when the worker forgets a device a provider reported gone, for that user only', async () => {
    const { userId } = await freshUser({ devices: [fcm('gone'), fcm('kept')] });
    const { userId: other } = await freshUser({ devices: [fcm('other')] });
    const otherBefore = (await getUser(t.db, t.appId, other)).updated_at;
    const gone = (await getUser(t.db, t.appId, userId)).devices.find((d) => d.token === 'gone')!;
    const { before, after } = await updatedAcross(userId, () => removeDevices(t.db.pool, [gone.id]));
    expect(after > before).toBe(true);
    const user = await getUser(t.db, t.appId, userId);
    expect(user.devices.map((d) => d.token)).toEqual(['kept']);
    expect((await getUser(t.db, t.appId, other)).updated_at).toBe(otherBefore);
  });

  it('moves when the worker disables a webhook that answered 410 Gone, and not again once disabled', async () => {
    const { userId } = await freshUser({ webhook_url: 'https://hooks.test/in' });
    const { before, after } = await updatedAcross(userId, () => disableWebhook(t.db.pool, t.appId, userId));
    expect(after > before).toBe(true);
    const disabled = await getUser(t.db, t.appId, userId);
    expect(disabled.webhook_disabled_at).not.toBeNull();
    const again = await updatedAcross(userId, () => disableWebhook(t.db.pool, t.appId, userId));
    expect(again.after).toBe(again.before);
  });
});
