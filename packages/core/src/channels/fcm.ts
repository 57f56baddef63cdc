import http from 'node:http';
import https from 'node:https';
import { GoogleAuth } from 'google-auth-library';
import { z } from 'zod';
import type { Env } from '../platform/env.js';
import type { Provider } from './provider.js';
import { parseRetryAfter, ProviderError } from './provider-error.js';
import { createPushProvider, pushFailure, pushUnreachable } from './push-common.js';

export interface FcmProviderOptions {
  /** The Firebase project the messages are sent for. */
  projectId: string;
  /** FCM HTTP v1 origin, normally `https://fcm.googleapis.com`. */
  baseUrl: string;
  /** An OAuth 2 access token with the `firebase.messaging` scope; called before every send (cache inside). */
  accessToken: () => Promise<string>;
  /** Whole-request deadline. Default 10 000. */
  timeoutMs?: number;
  /** Agent for the requests (an `https.Agent` for an https base URL). Default: Node's global agent. */
  agent?: http.Agent;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** The v1 API's error body (google.rpc.Status); only what classification needs. */
const FcmErrorBody = z.object({
  error: z.object({
    status: z.string().optional(),
    message: z.string().optional(),
    details: z
      .array(
        z.looseObject({
          errorCode: z.string().optional(),
          fieldViolations: z.array(z.looseObject({ field: z.string().optional() })).optional(),
        }),
      )
      .optional(),
  }),
});
type FcmError = z.infer<typeof FcmErrorBody>['error'];

/**
 * Firebase Cloud Messaging through the HTTP v1 API: one POST per device
 * token, authorised with a service account's OAuth token.
 */
export function createFcmProvider(opts: FcmProviderOptions): Provider {
  const url = new URL(`v1/projects/${encodeURIComponent(opts.projectId)}/messages:send`, withTrailingSlash(opts.baseUrl));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return createPushProvider('fcm', async ({ device, title, body, data }) => {
    let token: string;
    try {
      token = await opts.accessToken();
    } catch (err) {
      // Our credentials, not the message: retry (and let the breaker see it) rather than fail every delivery.
      throw new ProviderError('could not get an FCM access token', { code: 'fcm_auth', retryable: true, cause: err });
    }
    const message = {
      token: device.token,
      notification: { title, body },
      ...(data ? { data: stringValues(data) } : {}),
    };
    const res = await post(url, JSON.stringify({ message }), {
      headers: { authorization: `Bearer ${token}` },
      timeoutMs,
      agent: opts.agent,
    });
    if (res.status >= 200 && res.status < 300) {
      const name = parseJson(res.body);
      return isRecord(name) && typeof name.name === 'string' ? name.name : undefined;
    }
    throw classify(res);
  });
}

/** The fcm provider from FCM_* settings, with tokens from google-auth-library; throws at startup when they are unusable. */
export function fcmProviderFromEnv(env: Pick<Env, 'FCM_CREDENTIALS' | 'FCM_PROJECT_ID' | 'FCM_BASE_URL'>): Provider {
  if (env.FCM_CREDENTIALS.trim() === '') {
    throw new Error('The fcm provider needs FCM_CREDENTIALS: the contents of a Firebase service account key (JSON)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(env.FCM_CREDENTIALS);
  } catch {
    // No cause: V8's JSON error quotes the input, and the input holds a private key.
    throw new Error('FCM_CREDENTIALS is not valid JSON; it must hold the service account key file contents, not a path');
  }
  if (!isRecord(parsed) || typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
    throw new Error('FCM_CREDENTIALS must be a service account key (JSON with client_email and private_key)');
  }
  const projectId = env.FCM_PROJECT_ID.trim() || (typeof parsed.project_id === 'string' ? parsed.project_id : '');
  if (projectId === '') {
    throw new Error('The fcm provider needs FCM_PROJECT_ID (or project_id in FCM_CREDENTIALS)');
  }
  if (!URL.canParse(env.FCM_BASE_URL) || !/^https?:$/.test(new URL(env.FCM_BASE_URL).protocol)) {
    throw new Error('FCM_BASE_URL must be an http(s) URL');
  }
  const auth = new GoogleAuth({ credentials: { client_email: parsed.client_email, private_key: parsed.private_key }, scopes: [FCM_SCOPE] });
  return createFcmProvider({
    projectId,
    baseUrl: env.FCM_BASE_URL,
    // GoogleAuth caches the token and refreshes it shortly before it expires.
    accessToken: async () => {
      const token = await auth.getAccessToken();
      if (!token) throw new Error('google-auth-library returned no access token');
      return token;
    },
  });
}

/** FCM `data` is a map of strings; other JSON values travel as their JSON text. */
function stringValues(data: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

interface FcmResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function classify(res: FcmResponse): ProviderError {
  const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
  const parsed = FcmErrorBody.safeParse(parseJson(res.body));
  const error: FcmError = parsed.success ? parsed.data.error : {};
  const errorCode = error.details?.find((d) => d.errorCode)?.errorCode;
  const status = error.status;
  const reason = [errorCode, status].filter(Boolean).join('/') || 'no error body';
  // FCM's own message text goes in the cause only, so that our messages stay free of anything request-derived.
  const cause = new Error(`FCM ${res.status} ${reason}: ${error.message ?? res.body.slice(0, 200)}`);
  const fail = pushFailure(`FCM answered HTTP ${res.status} (${reason})`, cause, retryAfterMs);

  if (errorCode === 'UNREGISTERED') return fail('fcm_unregistered', false, { gone: true });
  if (errorCode === 'SENDER_ID_MISMATCH') {
    // The token belongs to another Firebase project: permanent for this message, but not `gone`,
    // because a wrong FCM_PROJECT_ID gives this for every token and must not wipe all devices.
    return fail('fcm_sender_id_mismatch', false);
  }
  if (errorCode === 'QUOTA_EXCEEDED' || res.status === 429 || status === 'RESOURCE_EXHAUSTED') {
    return fail('fcm_quota_exceeded', true, { rateLimited: true });
  }
  if (errorCode === 'THIRD_PARTY_AUTH_ERROR') {
    // APNs certificate / web push key in the Firebase console is wrong: an operator fixes the project, the
    // message itself is fine. Retryable so deliveries survive the fix and the breaker sees the outage.
    return fail('fcm_third_party_auth', true);
  }
  if (errorCode === 'INVALID_ARGUMENT' || status === 'INVALID_ARGUMENT' || res.status === 400) {
    return invalidToken(error) ? fail('fcm_invalid_token', false, { gone: true }) : fail('fcm_invalid_argument', false);
  }
  if (res.status === 401 || res.status === 403 || status === 'UNAUTHENTICATED' || status === 'PERMISSION_DENIED') {
    // Our OAuth token or service account's rights, never the message: permanent would fail every delivery
    // until someone noticed, and permanent errors do not open the circuit breaker.
    return fail('fcm_auth', true);
  }
  if (res.status === 404) {
    // 404 without UNREGISTERED means the project or URL is wrong (configuration), not that the device is gone.
    return fail('fcm_not_found', true);
  }
  if (res.status >= 500 || errorCode === 'UNAVAILABLE' || errorCode === 'INTERNAL') return fail('fcm_unavailable', true);
  if (res.status >= 400) return fail('fcm_rejected', false);
  return fail('fcm_unexpected_status', true);
}

/** FCM marks a malformed registration token as an INVALID_ARGUMENT on `message.token`. */
function invalidToken(error: FcmError): boolean {
  const onToken = error.details?.some((d) => d.fieldViolations?.some((v) => v.field === 'message.token')) ?? false;
  return onToken || /registration token/i.test(error.message ?? '');
}

async function post(url: URL, body: string, opts: { headers: Record<string, string>; timeoutMs: number; agent: http.Agent | undefined }): Promise<FcmResponse> {
  const request = url.protocol === 'https:' ? https.request : http.request;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    return await new Promise<FcmResponse>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: { ...opts.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) },
          signal,
          ...(opts.agent ? { agent: opts.agent } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // Error bodies are small; anything larger is not FCM and need not be held in memory.
            if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          res.on('close', () => {
            if (!res.complete) reject(new Error('FCM closed the connection mid-response'));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  } catch (err) {
    if (signal.aborted) {
      throw new ProviderError(`FCM did not answer within ${opts.timeoutMs} ms`, { code: 'fcm_timeout', retryable: true, cause: err });
    }
    throw pushUnreachable('fcm', 'FCM', err);
  }
}

function withTrailingSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
