import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { startTlsServer, type RecordedRequest, type TlsCertificate, type TlsServer } from './tls-server.js';

/** A scripted answer; `body` is sent as JSON. */
export interface FcmReply {
  status: number;
  body?: unknown;
  headers?: OutgoingHttpHeaders;
  /** Sent as is instead of `body` (e.g. an HTML error page from a proxy). */
  rawBody?: string;
  hang?: boolean;
}

export interface FakeFcm extends TlsServer {
  requests: RecordedRequest[];
  /** Queues answers to the next well-formed, authorised requests. */
  reply(...replies: FcmReply[]): void;
  /** Forgets recorded requests and unused scripted answers, so one test's leftovers cannot leak into the next. */
  reset(): void;
}

/**
 * A local FCM HTTP v1 endpoint. Like the real one, it checks the bearer token
 * and the request shape first (401 / 400 with v1 error bodies), then answers
 * as scripted, by default `200 {"name": "projects/<p>/messages/<n>"}`.
 */
export async function startFakeFcm(tls: TlsCertificate, opts: { projectId: string; accessToken: string }): Promise<FakeFcm> {
  const requests: RecordedRequest[] = [];
  const script: FcmReply[] = [];
  let sent = 0;
  const server = await startTlsServer(tls, (req, res) => {
    requests.push(req);
    if (req.method !== 'POST' || req.path !== `/v1/projects/${opts.projectId}/messages:send`) {
      return send(res, fcmError(404, 'NOT_FOUND', undefined, 'Requested entity was not found.'));
    }
    if (req.headers.authorization !== `Bearer ${opts.accessToken}`) {
      return send(res, fcmError(401, 'UNAUTHENTICATED', undefined, 'Request had invalid authentication credentials.'));
    }
    const problem = shapeProblem(req);
    if (problem) return send(res, fcmError(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', problem));
    const next = script.shift();
    if (next?.hang) return;
    if (next) return send(res, next);
    sent += 1;
    return send(res, { status: 200, body: { name: `projects/${opts.projectId}/messages/${sent}` } });
  });
  return {
    ...server,
    requests,
    reply: (...replies) => void script.push(...replies),
    reset: () => {
      requests.length = 0;
      script.length = 0;
    },
  };
}

/** A v1 error answer as FCM sends it: google.rpc.Status with an FcmError detail. */
export function fcmError(
  httpStatus: number,
  status: string,
  errorCode?: string,
  message = 'error',
  extraDetails: Record<string, unknown>[] = [],
  headers: OutgoingHttpHeaders = {},
): FcmReply {
  const details = [...(errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : []), ...extraDetails];
  return { status: httpStatus, headers, body: { error: { code: httpStatus, message, status, details } } };
}

function send(res: ServerResponse, reply: FcmReply): void {
  const text = reply.rawBody ?? JSON.stringify(reply.body ?? {});
  res.writeHead(reply.status, { 'content-type': reply.rawBody ? 'text/html' : 'application/json; charset=UTF-8', ...reply.headers });
  res.end(text);
}

/** What the real API would refuse about the request body, or undefined. */
function shapeProblem(req: RecordedRequest): string | undefined {
  if (!String(req.headers['content-type']).startsWith('application/json')) return 'Content-Type must be JSON';
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    return 'Invalid JSON payload received.';
  }
  const message = isRecord(parsed) ? parsed.message : undefined;
  if (!isRecord(message)) return 'message is required';
  if (typeof message.token !== 'string' || message.token === '') return 'message.token is required';
  const notification = message.notification;
  if (notification !== undefined && (!isRecord(notification) || !Object.values(notification).every((v) => typeof v === 'string'))) {
    return 'Invalid value at message.notification';
  }
  const data = message.data;
  if (data !== undefined && (!isRecord(data) || !Object.values(data).every((v) => typeof v === 'string'))) {
    return 'Invalid value at message.data: values must be strings';
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
