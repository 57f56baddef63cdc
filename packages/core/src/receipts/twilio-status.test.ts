import { describe, expect, it } from 'vitest';
import { signTwilioCallback } from '../channels/testing/fake-twilio.js';
import { twilioReceipt, twilioSignatureValid, twilioStatusCallbackUrl } from './twilio-status.js';

const URL = 'https://notify.example.com/providers/twilio/status';
const form = { MessageSid: 'SM1', MessageStatus: 'delivered', AccountSid: 'AC1' };

describe('Twilio status callbacks', () => {
  it('accepts only the signature of this token, URL and form', async () => {
    const signature = signTwilioCallback('token', URL, form);
    expect(await twilioSignatureValid('token', signature, URL, form)).toBe(true);
    expect(await twilioSignatureValid('other', signature, URL, form)).toBe(false);
    expect(await twilioSignatureValid('token', signature, `${URL}?x=1`, form)).toBe(false);
    expect(await twilioSignatureValid('token', signature, URL, { ...form, MessageStatus: 'failed' })).toBe(false);
    expect(await twilioSignatureValid('token', undefined, URL, form)).toBe(false);
    // No token configured: nothing is valid, not even a signature made with the empty token.
    expect(await twilioSignatureValid('', signTwilioCallback('', URL, form), URL, form)).toBe(false);
  });

  it.each([
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['undelivered', 'undelivered'],
    ['failed', 'failed'],
  ])('records MessageStatus %s as %s', (given, recorded) => {
    expect(twilioReceipt({ MessageSid: 'SM1', MessageStatus: given, ErrorCode: '' })).toEqual({ providerMessageId: 'SM1', status: recorded, errorCode: null });
  });

  it('ignores the statuses before sending and a form without a SID; keeps the ErrorCode', () => {
    for (const s of ['queued', 'accepted', 'sending', 'scheduled', 'canceled', 'receiving']) expect(twilioReceipt({ MessageSid: 'SM1', MessageStatus: s })).toBeNull();
    expect(twilioReceipt({ MessageStatus: 'delivered' })).toBeNull();
    expect(twilioReceipt({ SmsSid: 'SM2', SmsStatus: 'undelivered', ErrorCode: '30003' })).toEqual({ providerMessageId: 'SM2', status: 'undelivered', errorCode: '30003' });
  });

  it('takes the callback URL from TWILIO_STATUS_CALLBACK_URL, else PUBLIC_URL', () => {
    expect(twilioStatusCallbackUrl({ TWILIO_STATUS_CALLBACK_URL: 'https://a.example/cb?x=1', PUBLIC_URL: 'https://b.example' })).toBe('https://a.example/cb?x=1');
    expect(twilioStatusCallbackUrl({ TWILIO_STATUS_CALLBACK_URL: '', PUBLIC_URL: 'https://b.example/' })).toBe('https://b.example/providers/twilio/status');
    expect(twilioStatusCallbackUrl({ TWILIO_STATUS_CALLBACK_URL: '', PUBLIC_URL: '' })).toBeUndefined();
  });
});
