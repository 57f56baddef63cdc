import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { webhookAllowedHosts, type Env } from '../platform/env.js';
import { resolveWebhookTarget, WebhookUrlError, type Lookup, type WebhookTarget } from '../platform/ssrf.js';
import { messageFor, type Provider, type SendResult } from './provider.js';
import { errnoCode, parseRetryAfter, ProviderError } from './provider-error.js';

/** Response bytes read before hanging up: receivers owe us a status, not a body. */
export const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;

const USER_AGENT = 'notify-webhooks/0.1';

export interface WebhookProviderOptions {
  /** Time for one whole send: the URL check, connect, TLS, request and response (WEBHOOK_TIMEOUT_MS, default 10 000). */
  timeoutMs: number;
  /** Hosts exempt from the SSRF guard, lower-cased (WEBHOOK_ALLOWED_HOSTS, default none). */
  allowedHosts: Set<string>;
  /** DNS used by the send-time SSRF check; default the system resolver. */
  lookup?: Lookup;
  /** Extra CA certificates to trust for https receivers, e.g. a private CA or a test's self-signed cert; default Node's bundle. */
  ca?: string | Buffer;
}

/**
 * The webhook channel: POSTs the payload, signed per Standard Webhooks, to the
 * user's endpoint. Endpoints are user-supplied, so each send re-checks the URL
 * against the SSRF guard and connects only to the address that was checked.
 */
export function createWebhookProvider(opts: WebhookProviderOptions): Provider {
  const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });
  const lookup = opts.lookup ?? systemLookup;

  return {
    name: 'webhook',
    channels: ['webhook'],
    // A failing endpoint is that user's problem; it must not open a breaker for everyone's.
    circuitBreaker: false,
    async send(envelope, ctx) {
      const { url, secret, payload } = messageFor(envelope, 'webhook');
      const signal = AbortSignal.timeout(opts.timeoutMs);
      const timedOut = (cause?: unknown) => new ProviderError(`webhook send did not finish within ${opts.timeoutMs} ms`, { code: 'webhook_timeout', retryable: true, cause });

      // A resolver failure is not a verdict on the URL: the guard reports it as "does not resolve", which must stay retryable.
      let dnsFailed = false;
      const watchedLookup: Lookup = async (hostname) => {
        try {
          const addresses = await lookup(hostname);
          if (addresses.length === 0) dnsFailed = true;
          return addresses;
        } catch (err) {
          dnsFailed = true;
          throw err;
        }
      };

      let target: WebhookTarget;
      try {
        target = await untilAborted(resolveWebhookTarget(url, opts.allowedHosts, watchedLookup), signal);
      } catch (err) {
        if (signal.aborted) throw timedOut(err);
        if (!(err instanceof WebhookUrlError)) throw err;
        if (dnsFailed) {
          throw new ProviderError(`webhook host could not be resolved: ${err.message}`, { code: 'webhook_dns', retryable: true, cause: err });
        }
        throw new ProviderError(`webhook URL refused: ${err.message}`, { code: 'webhook_url_forbidden', retryable: false, cause: err });
      }

      let signer: Webhook;
      try {
        signer = new Webhook(secret);
      } catch (err) {
        throw new ProviderError('webhook signing secret is not a valid whsec_ secret', { code: 'webhook_secret_invalid', retryable: false, cause: err });
      }

      // One string, signed and sent as is: the receiver verifies these exact bytes.
      const body = JSON.stringify(payload);
      const sentAt = new Date();
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': USER_AGENT,
        'webhook-id': ctx.deliveryId,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signer.sign(ctx.deliveryId, sentAt, body),
      };

      let response: { status: number; headers: IncomingHttpHeaders };
      try {
        response = await post(target, headers, body, signal, opts.ca);
      } catch (err) {
        if (signal.aborted) throw timedOut(err);
        throw connectionError(err);
      }
      return outcome(response.status, response.headers);
    },
  };
}

/** The webhook provider as configured by WEBHOOK_TIMEOUT_MS and WEBHOOK_ALLOWED_HOSTS. */
export function webhookProviderFromEnv(env: Env): Provider {
  return createWebhookProvider({ timeoutMs: env.WEBHOOK_TIMEOUT_MS, allowedHosts: webhookAllowedHosts(env) });
}

/**
 * The receiver's answer as a result or a classified failure. A failing
 * receiver is one user's endpoint, never our provider as a whole, so nothing
 * here is `rateLimited`.
 */
function outcome(status: number, headers: IncomingHttpHeaders): SendResult {
  // Standard Webhooks defines no receipt id, and webhook-id is already the delivery id: the status is what we learn.
  if (status >= 200 && status < 300) return { providerMessageId: `webhook-${status}` };
  const code = `webhook_${status}`;
  if (status >= 300 && status < 400) {
    // Following would let an allowed endpoint bounce us to an address the guard never saw.
    throw new ProviderError(`webhook receiver answered ${status} (redirects are not followed)`, { code: 'webhook_redirect', retryable: false });
  }
  if (status === 410) {
    throw new ProviderError('webhook receiver answered 410 Gone', { code, retryable: false, gone: true });
  }
  if (status === 429 || status === 503) {
    throw new ProviderError(`webhook receiver answered ${status}`, {
      code,
      retryable: true,
      retryAfterMs: parseRetryAfter(headers['retry-after']),
    });
  }
  if (status === 408 || status === 425 || status >= 500) {
    throw new ProviderError(`webhook receiver answered ${status}`, { code, retryable: true });
  }
  if (status >= 400) {
    throw new ProviderError(`webhook receiver answered ${status}`, { code, retryable: false });
  }
  // 1xx as a final answer, or no status at all: a broken receiver, perhaps only for now.
  throw new ProviderError(`webhook receiver answered an unexpected status ${status}`, { code, retryable: true });
}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;

/** Node's messages name only the address and port, but the code says all we need without them. */
function connectionError(err: unknown): ProviderError {
  const code = errnoCode(err);
  if (code && TLS_ERROR.test(code)) {
    return new ProviderError(`webhook receiver's TLS certificate was refused (${code})`, { code: 'webhook_tls', retryable: true, cause: err });
  }
  return new ProviderError(`could not reach the webhook receiver${code ? ` (${code})` : ''}`, {
    code: 'webhook_connection',
    retryable: true,
    cause: err,
  });
}

/**
 * One POST on a fresh connection (no pool, so every send connects to the
 * address checked for it). Settles with the status once the body has ended,
 * passed WEBHOOK_MAX_RESPONSE_BYTES, or broken off: after the status line the
 * receiver has answered, whatever happens to the rest.
 */
function post(
  target: WebhookTarget,
  headers: OutgoingHttpHeaders,
  body: string,
  signal: AbortSignal,
  ca: string | Buffer | undefined,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const options: https.RequestOptions = { method: 'POST', headers, agent: false, signal };
  // The URL's host stays the request's host (Host header, SNI, certificate check); only the lookup is answered with the checked address.
  if (target.address) options.lookup = pinnedLookup(target.address, target.family ?? 4);
  if (ca !== undefined) options.ca = ca;
  const request = target.url.protocol === 'https:' ? https.request : http.request;

  return new Promise((resolve, reject) => {
    const req = request(target.url, options, (res) => {
      let read = 0;
      const settle = () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
        req.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > WEBHOOK_MAX_RESPONSE_BYTES) settle();
      });
      res.once('end', settle);
      res.on('error', settle);
      res.once('close', settle);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Answers net's lookup with the checked address, in both of its callback shapes (`all` is set when it races IPv4 and IPv6). */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
