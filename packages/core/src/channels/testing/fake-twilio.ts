import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';

/** A Twilio error answer: status and body `{ code, message, more_info, status }`, plus an optional Retry-After header. */
export interface FakeTwilioError {
  status: number;
  /** Twilio error code; omitted from the body when undefined. */
  code?: number;
  message?: string;
  retryAfter?: string;
}

/** A message the fake accepted, with what the client sent. */
export interface FakeTwilioMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string;
  /** The StatusCallback URL sent with the message, if any. */
  statusCallback: string | undefined;
  userAgent: string | undefined;
  contentType: string | undefined;
  path: string;
}

export interface FakeTwilio {
  /** Where to point the provider (`baseUrl`, TWILIO_API_BASE_URL). */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Messages accepted (201), in order. */
  readonly messages: FakeTwilioMessage[];
  /** Requests of any kind received, accepted or not. */
  readonly requests: number;
  /** Answer every message to `to` with this error until cleared (undefined). */
  failFor(to: string, error: FakeTwilioError | undefined): void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{6,14}$/;

function twilioError(res: ServerResponse, { status, code, message, retryAfter }: FakeTwilioError): void {
  const body: Record<string, unknown> = { message: message ?? 'Error', status };
  if (code !== undefined) {
    body.code = code;
    body.more_info = `https://www.twilio.com/docs/errors/${code}`;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  res.writeHead(status, headers).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A small stand-in for the Twilio REST API on 127.0.0.1: `POST
 * /2010-04-01/Accounts/{Sid}/Messages.json` with Basic auth and form fields,
 * answering like Twilio (201 with the message resource, or a Twilio error body).
 */
export async function startFakeTwilio(opts: { accountSid?: string; authToken?: string } = {}): Promise<FakeTwilio> {
  const accountSid = opts.accountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const authToken = opts.authToken ?? randomBytes(16).toString('hex');
  const messages: FakeTwilioMessage[] = [];
  const failures = new Map<string, FakeTwilioError>();
  let requests = 0;

  const server = createServer((req, res) => {
    requests++;
    void handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-twilio');
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) {
      return twilioError(res, { status: 404, code: 20404, message: `The requested resource ${url.pathname} was not found` });
    }
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      return twilioError(res, { status: 401, code: 20003, message: 'Authenticate' });
    }
    if (match[1] !== accountSid) {
      return twilioError(res, { status: 404, code: 20404, message: `The requested resource ${url.pathname} was not found` });
    }
    const form = new URLSearchParams(await readBody(req));
    const to = form.get('To');
    const from = form.get('From') ?? undefined;
    const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
    const body = form.get('Body');
    if (!to) return twilioError(res, { status: 400, code: 21604, message: "A 'To' phone number is required." });
    if (!from && !messagingServiceSid) return twilioError(res, { status: 400, code: 21603, message: "A 'From' phone number is required." });
    if (!body) return twilioError(res, { status: 400, code: 21602, message: 'Message body is required.' });
    const failure = failures.get(to);
    if (failure) return twilioError(res, failure);
    // Twilio echoes the number back, which the provider must not store.
    if (!E164.test(to)) return twilioError(res, { status: 400, code: 21211, message: `The 'To' number ${to} is not a valid phone number.` });

    const sid = `SM${randomBytes(16).toString('hex')}`;
    messages.push({
      sid,
      accountSid,
      to,
      from,
      messagingServiceSid,
      body,
      statusCallback: form.get('StatusCallback') ?? undefined,
      userAgent: req.headers['user-agent'],
      contentType: req.headers['content-type'],
      path: url.pathname,
    });
    const now = new Date().toUTCString().replace('GMT', '+0000');
    res.writeHead(201, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        account_sid: accountSid,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: messagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        status: messagingServiceSid ? 'accepted' : 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
        to,
        uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
      }),
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    messages,
    get requests() {
      return requests;
    },
    failFor(to, error) {
      if (error) failures.set(to, error);
      else failures.delete(to);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The X-Twilio-Signature Twilio would send with a callback to `url` carrying `form`, made by the SDK's own signer. */
export function signTwilioCallback(authToken: string, url: string, form: Record<string, string>): string {
  return getExpectedTwilioSignature(authToken, url, form);
}
