import { createRoute } from '@hono/zod-openapi';
import { AppError, type Db, type Logger, type Redis, type StatusEventJob } from '@notify/core/platform';
import { recordReceipt, TWILIO_STATUS_PATH, TWILIO_SUPPRESSED_CODES, twilioReceipt, twilioSignatureValid } from '@notify/core/receipts';
import { enqueueStatusEvents } from '@notify/core/status-webhooks';
import { recordSuppressions } from '@notify/core/suppressions';
import { countReceipt } from '@notify/core/observability';
import type { Queue } from 'bullmq';
import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../context.js';
import { newRouter } from '../router.js';
import { errorResponses, EVERY_REQUEST, jsonResponse } from '../openapi.js';

export interface TwilioReceiptSettings {
  /** TWILIO_AUTH_TOKEN: Twilio signs its callbacks with it. Empty: every callback is refused. */
  authToken: string;
  /** The URL given to Twilio as statusCallback (twilioStatusCallbackUrl); unset: the URL this request came to. */
  callbackUrl: string | undefined;
}

const TwilioStatusForm = z.record(z.string(), z.string()).meta({
  id: 'TwilioStatusCallback',
  description: 'What Twilio posts: MessageSid, MessageStatus (sent, delivered, undelivered, failed, read...), ErrorCode, To, From, AccountSid...',
});
const Recorded = z.object({ recorded: z.boolean().meta({ description: "Whether the receipt changed a delivery's provider_status" }) }).meta({ id: 'ReceiptRecorded' });

/**
 * The URL Twilio called, as it signed it: the configured callback URL, or
 * this request's, whose scheme and host are what the outermost of
 * TRUST_PROXY_HOPS proxies saw (X-Forwarded-Proto/Host, read like
 * X-Forwarded-For), since Twilio signs the public URL, not ours.
 */
function calledUrl(c: Context<ApiEnv>, settings: TwilioReceiptSettings, trustedProxyHops: number): string {
  if (settings.callbackUrl) return settings.callbackUrl;
  const url = new URL(c.req.url);
  if (trustedProxyHops > 0) {
    const seen = (name: string) => {
      const hops = (c.req.header(name) ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
      return hops[Math.max(0, hops.length - trustedProxyHops)];
    };
    const proto = seen('x-forwarded-proto');
    const host = seen('x-forwarded-host');
    if (proto === 'http' || proto === 'https') url.protocol = `${proto}:`;
    if (host) url.host = host;
  }
  return url.href;
}

/** Provider receipts: Twilio's status callbacks, signed with the account's auth token. No API key: the signature is the proof. */
export function providerReceiptRoutes(deps: {
  db: Db;
  redis: Redis;
  events: Queue<StatusEventJob>;
  log: Logger;
  queuePrefix: string;
  twilioReceipts?: TwilioReceiptSettings | undefined;
  security: { trustedProxyHops?: number };
}) {
  const app = newRouter();
  const settings = deps.twilioReceipts ?? { authToken: '', callbackUrl: undefined };

  app.openapi(
    createRoute({
      method: 'post',
      path: TWILIO_STATUS_PATH.replace(/^\/providers/, ''),
      operationId: 'receiveTwilioStatus',
      tags: ['providers'],
      summary: "Twilio's status callback for a message sent through the twilio provider",
      description:
        'Signed by Twilio (X-Twilio-Signature, the account\'s auth token over the URL and form); an unsigned or wrongly signed request is refused with 403 and changes nothing. Updates the delivery\'s provider_status; the first final status (delivered, undelivered, failed) stays. See README "Provider receipts".',
      security: [],
      request: { body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TwilioStatusForm } } } },
      responses: { 200: jsonResponse('Received (also when it changed nothing)', Recorded), ...errorResponses(...EVERY_REQUEST, 403, 422, 503) },
    }),
    async (c) => {
      const form = c.req.valid('form');
      const log = c.get('log');
      if (!(await twilioSignatureValid(settings.authToken, c.req.header('x-twilio-signature'), calledUrl(c, settings, deps.security.trustedProxyHops ?? 0), form))) {
        log.warn({ signed: c.req.header('x-twilio-signature') !== undefined, configured: settings.authToken !== '' }, 'refused a Twilio status callback: bad or missing signature');
        throw new AppError('forbidden', 'The request is not signed by Twilio');
      }
      const receipt = twilioReceipt(form);
      if (!receipt) return c.json({ recorded: false }, 200);
      const outcome = await recordReceipt(deps.db.pool, { ...receipt, provider: 'twilio', channel: 'sms' });
      await countReceipt(deps.redis, deps.queuePrefix, { channel: 'sms', provider: 'twilio', status: receipt.status });
      const refusal = receipt.errorCode ? TWILIO_SUPPRESSED_CODES.get(Number(receipt.errorCode)) : undefined;
      const { delivery } = outcome;
      // A number refused after Twilio took the message (a Messaging Service reports STOP this way) is suppressed as at send time.
      if (refusal && delivery && form.To) {
        await recordSuppressions(deps.db.pool, [
          { appId: delivery.appId, userId: delivery.userId, channel: 'sms', address: form.To, reason: refusal, errorCode: `twilio_${receipt.errorCode}`, deliveryId: delivery.id },
        ]);
      }
      await enqueueStatusEvents(deps.events, outcome.eventIds, log);
      if (!delivery) log.info({ provider_status: receipt.status }, 'Twilio status callback for a message no delivery has');
      return c.json({ recorded: outcome.changed }, 200);
    },
  );
  return app;
}
