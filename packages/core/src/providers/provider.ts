import type { Channel } from '../channels.js';
import type { Logger } from '../logger.js';

/** What each channel's providers are asked to send. Built by the worker from database rows. */
export interface ChannelMessage {
  email: { to: string; subject: string; text: string };
  sms: { to: string; body: string };
  push: { title: string; body: string; data: Record<string, unknown> | null };
  in_app: { userId: string; title: string | null; body: string; data: Record<string, unknown> | null };
  webhook: { payload: Record<string, unknown> };
}

export interface SendContext {
  deliveryId: string;
  notificationId: string;
  /** 1 on the first try. */
  attempt: number;
  log: Logger;
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
  send<C extends Channel>(channel: C, message: ChannelMessage[C], ctx: SendContext): Promise<SendResult>;
  close?(): Promise<void>;
}
