import { claimDelivery, finishDelivery } from '@notify/core/deliveries';
import { getPreferences } from '@notify/core/audience';
import { signTwilioCallback } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

const AUTH_TOKEN = 'twilio-auth-token-for-tests';
const CALLBACK = 'https://notify.example.com/providers/twilio/status';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL: 'https://notify.example.com', WEBHOOK_ALLOWED_HOSTS: 'hooks.test' });
});
afterAll(() => t?.close());

interface Delivery {
  id: string;
  status: string;
  provider_status: string | null;
  provider_status_at: string | null;
  provider_error_code: string | null;
}

let sids = 0;
/** An SMS notification whose delivery the twilio provider sent, as the worker records it: its message SID. */
async function sentSms(userId: string, phone = '+14155550100'): Promise<{ notificationId: string; deliveryId: string; sid: string }> {
  await t.call('PUT', `/users/${userId}`, { phone });
  const n = await json<{ id: string; deliveries: { id: string }[] }>(await t.call('POST', '/notifications', { user_id: userId, message: 'Hi', channels: ['sms'] }));
  const deliveryId = n.deliveries[0]!.id;
  const sid = `SM${String(++sids).padStart(32, '0')}`;
  await claimDelivery(t.db.pool, deliveryId);
  await finishDelivery(t.db.pool, deliveryId, { status: 'delivered', provider: 'twilio', providerMessageId: sid });
  return { notificationId: n.id, deliveryId, sid };
}

/** A status callback as Twilio posts it, signed with the SDK's own signer (or with `signature` as given). */
function callback(form: Record<string, string>, o: { url?: string; signature?: string | null; headers?: Record<string, string> } = {}) {
  const signature = o.signature === undefined ? signTwilioCallback(AUTH_TOKEN, o.url ?? CALLBACK, form) : o.signature;
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }), ...o.headers },
    body: new URLSearchParams(form).toString(),
  };
}
const status = (sid: string, s: string, extra: Record<string, string> = {}) => ({ MessageSid: sid, SmsSid: sid, MessageStatus: s, SmsStatus: s, AccountSid: 'AC1', ...extra });
const post = (form: Record<string, string>, o?: Parameters<typeof callback>[1]) => t.app.request('/providers/twilio/status', callback(form, o));
const deliveryOf = async (notificationId: string) => (await json<{ deliveries: Delivery[] }>(await t.call('GET', `/notifications/${notificationId}`))).deliveries[0]!;

describe('POST /providers/twilio/status', () => {
  it('records a signed receipt on the delivery, visible in GET /notifications/{id}, a status event and the metrics', async () => {
    const hook = await json<{ id: string }>(await t.call('POST', '/webhooks', { url: 'https://hooks.test/receipts', events: ['delivery.provider_status'] }));
    const sms = await sentSms('receipt-1');

    const res = await post(status(sms.sid, 'delivered'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recorded: true });

    const d = await deliveryOf(sms.notificationId);
    expect(d).toMatchObject({ status: 'delivered', provider_status: 'delivered', provider_error_code: null });
    expect(Date.parse(d.provider_status_at!)).toBeGreaterThan(Date.now() - 60_000);
    const events = await json<{ data: { type: string; payload: { data: Record<string, unknown> } }[] }>(await t.call('GET', `/webhooks/${hook.id}/deliveries`));
    expect(events.data).toHaveLength(1);
    expect(events.data[0]).toMatchObject({ type: 'delivery.provider_status' });
    expect(events.data[0]!.payload.data).toMatchObject({
      delivery_id: sms.deliveryId,
      notification_id: sms.notificationId,
      user_id: 'receipt-1',
      channel: 'sms',
      provider: 'twilio',
      provider_message_id: sms.sid,
      provider_status: 'delivered',
    });
    const metrics = await (await t.app.request('/metrics', { headers: { authorization: adminHeader } })).text();
    expect(metrics).toMatch(/notify_provider_receipts_total\{channel="sms",provider="twilio",status="delivered"\} 1/);
  });

  it.each([
    ['unsigned', (): { signature?: string | null; url?: string } => ({ signature: null })],
    ['signed with another token', (form: Record<string, string>) => ({ signature: signTwilioCallback('another-token', CALLBACK, form) })],
    ['signed for another URL', () => ({ url: 'https://evil.example.com/providers/twilio/status' })],
  ])('refuses a callback %s (403, the error shape) and changes nothing', async (what, options) => {
    const sms = await sentSms(`forged-${what.replaceAll(' ', '-')}`);
    const form = status(sms.sid, 'failed');
    const res = await post(form, options(form));
    expect(res.status).toBe(403);
    expect((await json<ErrorJson>(res)).error).toMatchObject({ code: 'forbidden', request_id: expect.any(String) });
    expect(await deliveryOf(sms.notificationId)).toMatchObject({ provider_status: null, provider_status_at: null });
  });

  it('refuses a signed form whose fields were changed after signing', async () => {
    const sms = await sentSms('tampered-1');
    const signature = signTwilioCallback(AUTH_TOKEN, CALLBACK, status(sms.sid, 'delivered'));
    const res = await post(status(sms.sid, 'failed'), { signature });
    expect(res.status).toBe(403);
    expect((await deliveryOf(sms.notificationId)).provider_status).toBeNull();
  });

  it('moves sent to a final status, and keeps the first final one: late, repeated and contradicting receipts change nothing', async () => {
    const sms = await sentSms('order-1');
    expect(await (await post(status(sms.sid, 'queued'))).json()).toEqual({ recorded: false });
    expect((await deliveryOf(sms.notificationId)).provider_status).toBeNull();
    expect(await (await post(status(sms.sid, 'sent'))).json()).toEqual({ recorded: true });
    expect((await deliveryOf(sms.notificationId)).provider_status).toBe('sent');
    expect(await (await post(status(sms.sid, 'undelivered', { ErrorCode: '30003' }))).json()).toEqual({ recorded: true });
    const first = await deliveryOf(sms.notificationId);
    expect(first).toMatchObject({ provider_status: 'undelivered', provider_error_code: '30003' });

    for (const late of ['sent', 'undelivered', 'delivered', 'failed']) {
      const res = await post(status(sms.sid, late, late === 'undelivered' ? { ErrorCode: '30003' } : {}));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ recorded: false });
    }
    expect(await deliveryOf(sms.notificationId)).toEqual(first);
  });

  it('answers 200 for a message no delivery has (another system on the account), recording nothing', async () => {
    const res = await post(status('SMffffffffffffffffffffffffffffffff', 'delivered'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recorded: false });
  });

  it('a failed receipt with 21610 (STOP) suppresses the number and opts the user out of SMS', async () => {
    const sms = await sentSms('stop-receipt', '+14155550610');
    await post(status(sms.sid, 'failed', { ErrorCode: '21610', To: '+14155550610' }));
    const rows = await t.db.prisma.suppression.findMany({ where: { appId: t.appId, channel: 'sms' } });
    expect(rows).toEqual([expect.objectContaining({ address: '+14155550610', reason: 'unsubscribed', errorCode: 'twilio_21610', deliveryId: sms.deliveryId })]);
    expect((await getPreferences(t.db, t.appId, 'stop-receipt')).channels.sms).toBe(false);
  });

  it('without a configured URL, checks the signature against the public URL the outermost trusted proxy saw', async () => {
    const behindProxy = createApp({ ...t.deps, twilioReceipts: { authToken: AUTH_TOKEN, callbackUrl: undefined }, security: { ...t.deps.security, trustedProxyHops: 1 } });
    const sms = await sentSms('proxy-1');
    const publicUrl = 'https://public.example.org/providers/twilio/status';
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.org' };
    const signedForPublic = callback(status(sms.sid, 'delivered'), { url: publicUrl, headers });
    expect((await behindProxy.request('http://internal:3000/providers/twilio/status', signedForPublic)).status).toBe(200);
    expect((await deliveryOf(sms.notificationId)).provider_status).toBe('delivered');
    // Without trusting the proxy, the forwarded host is the client's say-so: refused.
    const direct = createApp({ ...t.deps, twilioReceipts: { authToken: AUTH_TOKEN, callbackUrl: undefined } });
    const again = callback(status(sms.sid, 'failed'), { url: publicUrl, headers });
    expect((await direct.request('http://internal:3000/providers/twilio/status', again)).status).toBe(403);
  });

  it('refuses every callback when no auth token is configured', async () => {
    const unconfigured = createApp({ ...t.deps, twilioReceipts: undefined });
    const sms = await sentSms('unconfigured-1');
    expect((await unconfigured.request('/providers/twilio/status', callback(status(sms.sid, 'delivered')))).status).toBe(403);
  });
});
