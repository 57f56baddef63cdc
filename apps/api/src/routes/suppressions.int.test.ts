import { createKey, ensureApp } from '@notify/core/access';
import { recordSuppressions, type NewSuppression } from '@notify/core/suppressions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

interface Suppression {
  id: string;
  channel: string;
  address: string;
  reason: string;
  error_code: string | null;
  delivery_id: string | null;
  created_at: string;
}
type Page = { data: Suppression[]; next_cursor: string | null };

const refusal = (appId: string, channel: NewSuppression['channel'], address: string, reason: NewSuppression['reason'], errorCode: string): NewSuppression => ({
  appId,
  userId: 'u1',
  channel,
  address,
  reason,
  errorCode,
  deliveryId: null,
});

describe('GET /suppressions and DELETE /suppressions/{id}', () => {
  beforeAll(async () => {
    // One statement each, in order, so the ids (UUIDv7) come in this order.
    await recordSuppressions(t.db.pool, [refusal(t.appId, 'email', 'Bounced@Example.com', 'hard_bounce', 'smtp_550')]);
    await recordSuppressions(t.db.pool, [refusal(t.appId, 'sms', '+14155550161', 'unsubscribed', 'twilio_21610')]);
    await recordSuppressions(t.db.pool, [refusal(t.appId, 'sms', '+14155550211', 'invalid_address', 'twilio_21211')]);
    // Again: the first record stays.
    await recordSuppressions(t.db.pool, [refusal(t.appId, 'email', 'bounced@example.com', 'hard_bounce', 'smtp_551')]);
    await recordSuppressions(t.db.pool, [refusal(await ensureApp(t.db, 'suppressions-other'), 'email', 'other@example.com', 'hard_bounce', 'smtp_550')]);
  });

  it('lists the app’s suppressions newest first, in pages, and filters by channel and address', async () => {
    const all = await json<Page>(await t.call('GET', '/suppressions'));
    expect(all.data.map((s) => [s.channel, s.address, s.reason, s.error_code])).toEqual([
      ['sms', '+14155550211', 'invalid_address', 'twilio_21211'],
      ['sms', '+14155550161', 'unsubscribed', 'twilio_21610'],
      ['email', 'bounced@example.com', 'hard_bounce', 'smtp_550'],
    ]);
    expect(all.next_cursor).toBeNull();

    const first = await json<Page>(await t.call('GET', '/suppressions?limit=2'));
    expect(first.data).toEqual(all.data.slice(0, 2));
    const second = await json<Page>(await t.call('GET', `/suppressions?limit=2&cursor=${first.next_cursor}`));
    expect(second).toEqual({ data: all.data.slice(2), next_cursor: null });

    expect((await json<Page>(await t.call('GET', '/suppressions?channel=sms'))).data.map((s) => s.address)).toEqual(['+14155550211', '+14155550161']);
    expect((await json<Page>(await t.call('GET', '/suppressions?channel=email&address=BOUNCED@example.com'))).data).toHaveLength(1);
    expect((await json<Page>(await t.call('GET', '/suppressions?address=%2B14155550161'))).data.map((s) => s.reason)).toEqual(['unsubscribed']);
    expect((await json<Page>(await t.call('GET', '/suppressions?address=other@example.com'))).data).toEqual([]);
  });

  it('refuses a bad cursor (400) and an unknown channel (422)', async () => {
    expect((await t.call('GET', '/suppressions?cursor=nonsense')).status).toBe(400);
    const res = await t.call('GET', '/suppressions?channel=fax');
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.map((d) => d.path)).toEqual(['channel']);
  });

  it('deletes one (204), audited without the address; an unknown, malformed or another app’s id is 404', async () => {
    const [target] = (await json<Page>(await t.call('GET', '/suppressions?channel=sms&address=%2B14155550211'))).data;
    const other = (await createKey(t.db, await ensureApp(t.db, 'suppressions-other'))).key;
    expect((await t.call('DELETE', `/suppressions/${target!.id}`, undefined, { authorization: `Bearer ${other}` })).status).toBe(404);

    expect((await t.call('DELETE', `/suppressions/${target!.id}`)).status).toBe(204);
    expect((await json<Page>(await t.call('GET', '/suppressions?channel=sms'))).data.map((s) => s.address)).toEqual(['+14155550161']);
    expect((await t.call('DELETE', `/suppressions/${target!.id}`)).status).toBe(404);
    expect((await t.call('DELETE', '/suppressions/not-a-uuid')).status).toBe(404);

    const audit = await json<{ data: { action: string; actor_type: string; target_id: string; summary: unknown }[] }>(
      await t.call('GET', '/audit-events?action=suppression.deleted'),
    );
    expect(audit.data).toEqual([
      expect.objectContaining({ action: 'suppression.deleted', actor_type: 'key', target_id: target!.id, summary: { channel: 'sms', reason: 'invalid_address' } }),
    ]);
  });
});
