import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';
// Types only: a runtime deep import would load a second RestException and break `instanceof`.
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as HttpResponse from 'twilio/lib/http/response.js';
import type { Env } from '../platform/env.js';
import { TWILIO_SUPPRESSED_CODES, twilioStatusCallbackUrl } from '../receipts/twilio-status.js';
import { messageFor, type Provider } from './provider.js';
import { errnoCode, parseRetryAfter, ProviderError, scrubbedError } from './provider-error.js';

type Response<T> = HttpResponse.default<T>;

export interface TwilioProviderOptions {
  /** `AC...` */
  accountSid: string;
  authToken: string;
  /** A phone number (`+15551234567`) or a Messaging Service SID (`MG...`), which lets Twilio pick the number. */
  from: string;
  /** Sends API requests to this origin instead of https://api.twilio.com (path ignored); for a local fake. Default: Twilio. */
  baseUrl?: string;
  /** Where Twilio posts each message's status changes (README "Provider receipts"); none when unset. */
  statusCallback?: string;
}

/**
 * The response headers of the current send. RestException keeps status and
 * body but drops the headers (Retry-After). The SDK's `httpClient.lastResponse`
 * does hold them, but it is one slot for all concurrent sends that every new
 * request clears, so each send collects its own through async context instead.
 */
const exchanges = new AsyncLocalStorage<{ headers?: unknown }>();

/** The SDK's HTTP client, aimed at `origin` when set and reporting response headers to the current send. */
class TwilioHttpClient extends twilio.RequestClient {
  private readonly origin: URL | undefined;
  /** Our own keep-alive agent for a plain-http origin, so close() need not touch Node's global one. */
  private readonly httpAgent: http.Agent | undefined;

  constructor(origin: URL | undefined) {
    // No SDK retries on 429: the worker owns retries and slows the whole SMS queue instead.
    super({ autoRetry: false });
    this.origin = origin;
    if (origin?.protocol === 'http:') {
      this.httpAgent = new http.Agent({ keepAlive: true });
      this.axios.defaults.httpAgent = this.httpAgent;
    }
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const uri = this.origin ? rebase(opts.uri, this.origin) : opts.uri;
    const response = await super.request({ ...opts, uri });
    const exchange = exchanges.getStore();
    if (exchange) exchange.headers = response.headers;
    return response;
  }

  close(): void {
    this.httpAgent?.destroy();
    const agent: unknown = this.axios.defaults.httpsAgent;
    if (agent instanceof https.Agent) agent.destroy();
  }
}

function rebase(uri: string, origin: URL): string {
  const url = new URL(uri);
  return new URL(`${url.pathname}${url.search}`, origin).href;
}

/** SMS through Twilio's Messages API with the official SDK. */
export function createTwilioProvider(opts: TwilioProviderOptions): Provider {
  if (!opts.accountSid.startsWith('AC')) throw new Error('twilio provider: the account SID must start with AC');
  let origin: URL | undefined;
  if (opts.baseUrl) {
    origin = URL.canParse(opts.baseUrl) ? new URL(opts.baseUrl) : undefined;
    if (origin?.protocol !== 'http:' && origin?.protocol !== 'https:') {
      throw new Error('twilio provider: the API base URL must be an http:// or https:// URL');
    }
  }
  const httpClient = new TwilioHttpClient(origin);
  const client = twilio(opts.accountSid, opts.authToken, { httpClient });
  const sender = opts.from.startsWith('MG') ? { messagingServiceSid: opts.from } : { from: opts.from };
  const callback = opts.statusCallback ? { statusCallback: opts.statusCallback } : {};
  return {
    name: 'twilio',
    channels: ['sms'],
    async send(envelope) {
      const m = messageFor(envelope, 'sms');
      const exchange: { headers?: unknown } = {};
      try {
        const message = await exchanges.run(exchange, () => client.messages.create({ to: m.to, body: m.body, ...sender, ...callback }));
        return { providerMessageId: message.sid };
      } catch (err) {
        throw twilioError(err, exchange.headers, m.to);
      }
    },
    async close() {
      httpClient.close();
    },
  };
}

const REQUIRED_ENV = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const;

/** Fails at startup, naming every missing variable, rather than on the first SMS. */
export function twilioProviderFromEnv(env: Env): Provider {
  const missing = REQUIRED_ENV.filter((name) => env[name].trim() === '');
  if (missing.length > 0) throw new Error(`The twilio provider needs ${missing.join(', ')} (unset or empty)`);
  return createTwilioProvider({
    accountSid: env.TWILIO_ACCOUNT_SID,
    authToken: env.TWILIO_AUTH_TOKEN,
    from: env.TWILIO_FROM,
    baseUrl: env.TWILIO_API_BASE_URL || undefined,
    statusCallback: twilioStatusCallbackUrl(env),
  });
}

/** Refused for this message; another try or provider would be refused too. */
const PERMANENT_CODES = new Set([
  21211, // invalid 'To' number
  21610, // recipient replied STOP
  21614, // 'To' is not SMS-capable (e.g. a landline)
]);

/**
 * Classifies an SDK failure. 429/20429 means Twilio is throttling the account
 * (rateLimited: the worker slows the whole SMS queue); 5xx and unreachable are
 * transient; 401 is our credentials, not the message, so it must fail over and
 * trip the breaker rather than end every delivery; other 4xx refuse the message.
 */
function twilioError(thrown: unknown, headers: unknown, to: string): ProviderError {
  if (thrown instanceof twilio.RestException) {
    const { status, code } = thrown;
    const detail = typeof thrown.message === 'string' ? thrown.message : '';
    const message = redact(`Twilio ${status}${code === undefined ? '' : ` (${code})`}: ${detail}`, to);
    const base = {
      code: `twilio_${code ?? status}`,
      cause: scrubbed(thrown, to, { status, code, moreInfo: thrown.moreInfo }),
    };
    const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'));
    if (code === 20429 || status === 429) return new ProviderError(message, { ...base, retryable: true, rateLimited: true, retryAfterMs });
    if (code !== undefined && PERMANENT_CODES.has(code)) return new ProviderError(message, { ...base, retryable: false, suppress: TWILIO_SUPPRESSED_CODES.get(code) });
    if (status >= 500) return new ProviderError(message, { ...base, retryable: true, retryAfterMs });
    if (status === 401) return new ProviderError(message, { ...base, retryable: true });
    return new ProviderError(message, { ...base, retryable: !(status >= 400 && status < 500) });
  }
  if (!(thrown instanceof Error)) return new ProviderError(redact(String(thrown), to), { code: 'twilio_error', retryable: true });
  const code = errnoCode(thrown);
  // Axios errors carry the request config (auth header, form with the number and body): only a scrubbed copy is kept.
  const cause = scrubbed(thrown, to, { code });
  if ('isAxiosError' in thrown && thrown.isAxiosError === true) {
    return new ProviderError(redact(`Twilio unreachable: ${thrown.message}`, to), { code: 'twilio_connection', retryable: true, cause });
  }
  return new ProviderError(redact(thrown.message, to), { code: 'twilio_error', retryable: true, cause });
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return typeof first === 'string' || typeof first === 'number' ? String(first) : undefined;
  }
  return undefined;
}

/** Digits in a row, with optional spaces, dashes or brackets between them: a phone number, not an IP or an error code. */
const PHONE_NUMBER = /\+?\(?\d(?:[\s()-]?\d){6,}/g;

/** Twilio echoes the number in errors (`The 'To' number +1555... is not valid`); error messages are stored and logged. */
function redact(text: string, to: string): string {
  const named = to.trim() === '' ? text : text.split(to).join('[recipient]');
  return named.replace(PHONE_NUMBER, '[phone]');
}

/** The error without the number, kept as the cause. */
function scrubbed(err: Error, to: string, fields: Record<string, unknown>): Error {
  return scrubbedError(err, (text) => redact(text, to), fields);
}
