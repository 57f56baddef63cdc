import type pg from 'pg';
import type { Channel } from '../platform/channels.js';
import type { Env } from '../platform/env.js';
import type { Logger } from '../platform/logger.js';
import type { Redis } from '../platform/redis.js';
import type { SpanParent } from '../observability/tracing.js';

/** A push target as stored for the user. */
export interface PushDevice {
  id: string;
  kind: 'webpush' | 'fcm';
  /** FCM registration token, or the Web Push endpoint URL. */
  token: string;
  /** Web Push subscription keys; null for FCM. */
  keys: { p256dh: string; auth: string } | null;
}

/** What each channel's providers are asked to send. Built by the worker from database rows. */
export interface ChannelMessage {
  /** `headers`: extra message headers, e.g. List-Unsubscribe. */
  email: { to: string; subject: string; text: string; html: string; headers?: Record<string, string> };
  sms: { to: string; body: string };
  /** One device per send: a user with three devices gets three sends. */
  push: { device: PushDevice; title: string; body: string; data: Record<string, unknown> | null };
  in_app: {
    appId: string;
    userId: string;
    notificationId: string;
    title: string | null;
    body: string;
    data: Record<string, unknown> | null;
    /** Already checked by safeLink; absent: none. */
    link?: string | null;
    senderId?: string | null;
  };
  webhook: {
    url: string;
    /** The endpoint's Standard Webhooks secret, `whsec_...`. */
    secret: string;
    payload: Record<string, unknown>;
  };
}

/** A message with its channel, so a provider can narrow on `channel`. */
export type Envelope = { [C in Channel]: { channel: C; message: ChannelMessage[C] } }[Channel];

/** The message of a single-channel provider's envelope (the registry never routes it another channel). */
export function messageFor<C extends Channel>(envelope: Envelope, channel: C): ChannelMessage[C] {
  if (envelope.channel !== channel) throw new Error(`expected a ${channel} message, got ${envelope.channel}`);
  return envelope.message as ChannelMessage[C];
}

export interface SendContext {
  /** Also the idempotency id for providers that take one (e.g. `webhook-id`). */
  deliveryId: string;
  notificationId: string;
  /** 1 on the first try; counts across replays. */
  attempt: number;
  log: Logger;
  /** The delivery attempt's span, when tracing is on: each provider call becomes its child. */
  trace?: SpanParent | undefined;
}

export interface SendResult {
  /** The provider's own id for the message, recorded on the delivery. */
  providerMessageId: string;
}

/**
 * A delivery provider. One file per provider under providers/, registered in
 * registry.ts. Failures are thrown as ProviderError (retryable or permanent);
 * anything else thrown is treated as retryable.
 */
export interface Provider {
  readonly name: string;
  readonly channels: readonly Channel[];
  /**
   * False for providers whose failures are the receiver's, not theirs (each
   * webhook is a different endpoint): one broken receiver must not trip a
   * breaker that stops everyone's. Default true.
   */
  readonly circuitBreaker?: boolean;
  /** For providers that take only some messages of a channel (e.g. one kind of push device). */
  accepts?(envelope: Envelope): boolean;
  send(envelope: Envelope, ctx: SendContext): Promise<SendResult>;
  close?(): Promise<void>;
}

/** What a provider factory may use. */
export interface ProviderDeps {
  env: Env;
  pool: pg.Pool;
  redis: Redis;
  log: Logger;
}
