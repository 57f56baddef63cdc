import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.js';
import { NotifyError } from './notify-error.js';
import { DEFAULT_RETRY, retryingFetch, type RetryOptions } from './retry.js';

export type Schemas = components['schemas'];
export type CreateNotification = Schemas['CreateNotification'];
export type BulkNotifications = Schemas['BulkNotification'];

export interface NotifyClientOptions {
  /** The API's origin, e.g. `https://notify.example.com`. */
  baseUrl: string;
  /** An API key (`nk_live_...`), sent as `Authorization: Bearer`. */
  apiKey: string;
  /** The fetch to use (default globalThis.fetch): a test double, or one with a custom agent. */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries on 429 and 503, honouring Retry-After (default 3 retries; see RetryOptions). */
  retries?: number | RetryOptions;
  /** Adds a random Idempotency-Key to every send that has none, so a retried send is never sent twice (default true). */
  idempotencyKeys?: boolean;
}

/** Per-call options of a send. */
export interface SendOptions {
  /** Your own key, e.g. the id of the order that caused the send: a repeat within 24 h answers the first notification. */
  idempotencyKey?: string;
}

/** The sends: the routes whose POST creates notifications and takes an Idempotency-Key. */
const SENDS = new Set(['/notifications', '/notifications/bulk']);

/**
 * A client of the notify API: `api` is the whole API, typed from its OpenAPI
 * document (openapi-fetch); the conveniences beside it return the answer's
 * body and throw NotifyError on an error answer.
 */
export function createNotifyClient(options: NotifyClientOptions) {
  const retry = { ...DEFAULT_RETRY, ...(typeof options.retries === 'number' ? { retries: options.retries } : options.retries) };
  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.apiKey}` },
    fetch: retryingFetch(options.fetch ?? ((request) => globalThis.fetch(request)), retry),
  });
  if (options.idempotencyKeys ?? true) {
    api.use({
      // Set before the retrying fetch sees the request, so every attempt carries the same key.
      onRequest({ request, schemaPath }) {
        if (request.method === 'POST' && SENDS.has(schemaPath) && !request.headers.has('idempotency-key')) {
          request.headers.set('idempotency-key', globalThis.crypto.randomUUID());
        }
        return request;
      },
    });
  }

  const keyHeader = (send?: SendOptions) => (send?.idempotencyKey === undefined ? {} : { header: { 'idempotency-key': send.idempotencyKey } });

  return {
    api,
    /** POST /notifications: one user (or a topic's subscribers); the accepted notification, or the batch of a topic send. */
    notify: async (body: CreateNotification, send?: SendOptions) => answer(await api.POST('/notifications', { body, params: keyHeader(send) })),
    /** POST /notifications/bulk: many users in one request. */
    notifyBulk: async (body: BulkNotifications, send?: SendOptions) => answer(await api.POST('/notifications/bulk', { body, params: keyHeader(send) })),
    /** GET /notifications/{id}: the notification with its per-channel deliveries. */
    getNotification: async (id: string) => answer(await api.GET('/notifications/{id}', { params: { path: { id } } })),
    /** POST /notifications/{id}/cancel: stops its queued and retrying deliveries. */
    cancelNotification: async (id: string) => answer(await api.POST('/notifications/{id}/cancel', { params: { path: { id } } })),
  };
}

export type NotifyClient = ReturnType<typeof createNotifyClient>;

/** The body of a success answer; an error answer as NotifyError. */
function answer<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  throw new NotifyError(result.response.status, result.error, result.response.headers.get('x-request-id'));
}
