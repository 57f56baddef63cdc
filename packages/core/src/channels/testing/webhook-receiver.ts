import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Webhook } from 'standardwebhooks';

/** A Standard Webhooks secret as users get them: `whsec_` + base64 of 24 random bytes. */
export function newTestWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface ReceivedWebhook {
  method: string;
  /** Path and query string, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** Whether the Standard Webhooks signature verified over the raw body. */
  verified: boolean;
  /** The verified payload; null when verification failed. */
  payload: unknown;
  verifyError: string | null;
  /** The SNI name the client sent (https receivers); null without one. */
  servername: string | null;
}

/** `hang`: read the request, never answer. `endless`: answer 200 and stream a body until the client hangs up. */
export type WebhookReply = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'endless';

export interface WebhookReceiver {
  /** `http(s)://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: ReceivedWebhook[];
  /** TCP connections accepted, so a test can tell "no request" from "no connection at all". */
  connections: number;
  /** Body bytes written by `endless` replies. */
  streamedBytes: number;
  /** Verifies with another secret from now on (e.g. the one the API generated for this endpoint). */
  useSecret(secret: string): void;
  /** How the receiver answers; by default 200 when the signature verifies, 401 when not. */
  reply: (received: ReceivedWebhook) => WebhookReply;
  close(): Promise<void>;
}

export interface WebhookReceiverOptions {
  secret: string;
  /** Serve https with this key and certificate. */
  tls?: { key: string; cert: string };
}

/** A real webhook receiver on 127.0.0.1 and a random port that verifies every request as a user's endpoint would. */
export async function startWebhookReceiver(opts: WebhookReceiverOptions): Promise<WebhookReceiver> {
  let verifier = new Webhook(opts.secret);
  const defaultReply = (r: ReceivedWebhook): WebhookReply => (r.verified ? { status: 200, body: '{"received":true}' } : { status: 401 });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let verified = false;
      let payload: unknown = null;
      let verifyError: string | null = null;
      try {
        payload = verifier.verify(rawBody, plainHeaders(req.headers));
        verified = true;
      } catch (err) {
        verifyError = err instanceof Error ? err.message : String(err);
      }
      const received: ReceivedWebhook = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        verified,
        payload,
        verifyError,
        servername: req.socket instanceof TLSSocket && typeof req.socket.servername === 'string' ? req.socket.servername : null,
      };
      receiver.requests.push(received);
      const reply = receiver.reply(received);
      if (reply === 'hang') return;
      if (reply === 'endless') return streamForever(res, receiver);
      res.writeHead(reply.status, reply.headers).end(reply.body);
    });
  };

  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handle) : http.createServer(handle);
  server.on('connection', () => {
    receiver.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const receiver: WebhookReceiver = {
    origin: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests: [],
    connections: 0,
    streamedBytes: 0,
    reply: defaultReply,
    useSecret(secret) {
      verifier = new Webhook(secret);
    },
    async close() {
      // Hanging replies would otherwise keep close() waiting for ever.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return receiver;
}

function streamForever(res: ServerResponse, receiver: WebhookReceiver): void {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  res.writeHead(200, { 'content-type': 'text/plain' });
  const write = () => {
    if (res.destroyed || res.writableEnded) return;
    receiver.streamedBytes += chunk.length;
    if (res.write(chunk)) setImmediate(write);
    else res.once('drain', write);
  };
  res.on('error', () => {});
  write();
}

/** The verifier takes plain string headers; Node gives repeated ones as arrays. */
function plainHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.join(', ');
  }
  return out;
}
