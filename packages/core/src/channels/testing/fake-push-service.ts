import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import { createRequire } from 'node:module';
import type { OutgoingHttpHeaders } from 'node:http';
import webpushKeys from 'web-push';
import { startTlsServer, type RecordedRequest, type TlsCertificate, type TlsServer } from './tls-server.js';

/** What the fake push service answers next; unscripted requests get 201 with a Location. */
export interface PushReply {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: string;
  /** Never answer (for timeout tests). */
  hang?: boolean;
}

export interface FakePushService extends TlsServer {
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Queues the answers to the next requests, in order. */
  reply(...replies: PushReply[]): void;
  /** Always answers requests to this endpoint so (e.g. 410 for an expired subscription), whatever their order. */
  replyTo(endpoint: string, reply: PushReply): void;
  /** Forgets recorded requests and unused scripted answers, so one test's leftovers cannot leak into the next. */
  reset(): void;
  /** A fresh subscription endpoint on this service. */
  endpoint(): string;
}

/**
 * A local RFC 8030 push service: records each push message and answers as
 * scripted, by default `201 Created` with the message's `Location` as a real
 * service does.
 */
export async function startFakePushService(tls: TlsCertificate): Promise<FakePushService> {
  const requests: RecordedRequest[] = [];
  const script: PushReply[] = [];
  const byPath = new Map<string, PushReply>();
  let messages = 0;
  const server = await startTlsServer(tls, (req, res) => {
    requests.push(req);
    const next = byPath.get(req.path) ?? script.shift();
    if (next?.hang) return;
    if (next) {
      res.writeHead(next.status, next.headers);
      res.end(next.body ?? '');
      return;
    }
    messages += 1;
    res.writeHead(201, { Location: `${server.origin}/m/msg-${messages}` });
    res.end();
  });
  return {
    ...server,
    requests,
    reply: (...replies) => void script.push(...replies),
    replyTo: (endpoint, reply) => void byPath.set(new URL(endpoint).pathname, reply),
    reset: () => {
      requests.length = 0;
      script.length = 0;
      byPath.clear();
    },
    endpoint: () => `${server.origin}/push/${randomBytes(12).toString('base64url')}`,
  };
}

/** The browser's side of a subscription: the keys it published and the secrets to read what arrives. */
export interface Subscriber {
  keys: { p256dh: string; auth: string };
  /** Decrypts an `aes128gcm` push message body (RFC 8291) addressed to this subscriber. */
  decrypt(body: Buffer): Buffer;
}

interface HttpEce {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }): Buffer;
}

// http_ece (web-push's own dependency) ships no types; this is the one call the tests make.
const ece = createRequire(import.meta.url)('http_ece') as HttpEce;

/** A subscription as `pushManager.subscribe()` makes it: a P-256 key pair and 16 random auth bytes. */
export function createSubscriber(): Subscriber {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return {
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
    decrypt: (body) => ece.decrypt(body, { version: 'aes128gcm', privateKey: ecdh, authSecret }),
  };
}

export interface VapidClaims {
  /** The key that signed (the `k=` of the header), base64url. */
  publicKey: string;
  aud: string;
  sub: string;
  exp: number;
}

/**
 * Checks an RFC 8292 `Authorization: vapid t=<jwt>, k=<key>` header the way a
 * push service does: an ES256 JWT whose signature verifies with `k`.
 * Throws when it does not; returns the claims when it does.
 */
export function verifyVapidAuthorization(header: string | undefined): VapidClaims {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`not a vapid Authorization header: ${header}`);
  const jwt = m[1]!;
  const publicKey = m[2]!;
  const [headerPart, payloadPart, signaturePart] = jwt.split('.') as [string, string, string];
  const jose = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { alg?: string; typ?: string };
  if (jose.alg !== 'ES256') throw new Error(`unexpected JWT alg ${jose.alg}`);
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) throw new Error('k is not an uncompressed P-256 point');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  const ok = verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signaturePart, 'base64url'));
  if (!ok) throw new Error('VAPID JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Omit<VapidClaims, 'publicKey'>;
  return { publicKey, ...claims };
}

/** A fresh VAPID key pair for tests (the application server's identity). */
export function testVapidKeys(): { publicKey: string; privateKey: string; subject: string } {
  return { ...webpushKeys.generateVAPIDKeys(), subject: 'mailto:tests@example.com' };
}
