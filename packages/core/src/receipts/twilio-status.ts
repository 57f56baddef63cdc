// Twilio status callbacks: where Twilio posts them, how their signature is checked, what they say.
import type { SuppressionReason } from '../channels/provider-error.js';
import type { Env } from '../platform/env.js';
import type { ProviderStatus } from './provider-status.js';

export const TWILIO_STATUS_PATH = '/providers/twilio/status';

/** TWILIO_STATUS_CALLBACK_URL, else PUBLIC_URL + /providers/twilio/status; undefined when neither is set. */
export function twilioStatusCallbackUrl(env: Pick<Env, 'TWILIO_STATUS_CALLBACK_URL' | 'PUBLIC_URL'>): string | undefined {
  if (env.TWILIO_STATUS_CALLBACK_URL) return env.TWILIO_STATUS_CALLBACK_URL;
  return env.PUBLIC_URL ? `${env.PUBLIC_URL.replace(/\/+$/, '')}${TWILIO_STATUS_PATH}` : undefined;
}

/** Twilio error codes that refuse a number for good: it is suppressed (and STOP is also the user's SMS opt-out). */
export const TWILIO_SUPPRESSED_CODES = new Map<number, SuppressionReason>([
  [21610, 'unsubscribed'],
  [21211, 'invalid_address'],
]);

/**
 * Whether `signature` (the X-Twilio-Signature header) is Twilio's HMAC of
 * this URL and form, made with the account's auth token: the URL must be the
 * one Twilio called, exactly as it was given (scheme, host, path, query).
 */
export async function twilioSignatureValid(authToken: string, signature: string | undefined, url: string, form: Record<string, string>): Promise<boolean> {
  if (!authToken || !signature) return false;
  // Loaded on the first callback, and only the SDK's webhook module (crypto and url), not the REST client:
  // an API that never gets one loads no provider SDK.
  const { validateRequest } = await import('twilio/lib/webhooks/webhooks.js');
  return validateRequest(authToken, signature, url, form);
}

/** MessageStatus values recorded; the others (queued, accepted, sending, scheduled, canceled...) say nothing new about delivery. */
const STATUSES: Record<string, ProviderStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  // WhatsApp's read receipt: it was delivered.
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
};

export interface TwilioReceipt {
  providerMessageId: string;
  status: ProviderStatus;
  /** ErrorCode, on undelivered and failed. */
  errorCode: string | null;
}

/** The receipt in a status callback's form, or null when it reports nothing recorded. */
export function twilioReceipt(form: Record<string, string>): TwilioReceipt | null {
  const sid = form.MessageSid ?? form.SmsSid;
  const status = STATUSES[form.MessageStatus ?? form.SmsStatus ?? ''];
  if (!sid || !status) return null;
  return { providerMessageId: sid, status, errorCode: form.ErrorCode || null };
}
