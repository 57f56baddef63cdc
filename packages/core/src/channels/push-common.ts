// What the push providers (webpush.ts, fcm.ts) share: one device kind each, the push message narrowed to that
// kind, the fallback message id, and how a push service's refusal or silence becomes a ProviderError.
import { messageFor, type ChannelMessage, type Envelope, type Provider, type PushDevice, type SendContext } from './provider.js';
import { errnoCode, ProviderError } from './provider-error.js';

export type PushKind = PushDevice['kind'];

/** The push message of a send, its device known to be of kind `K`. */
export type PushMessage<K extends PushKind> = ChannelMessage['push'] & { device: PushDevice & { kind: K } };

/**
 * A provider named after the one device kind it sends to. The registry routes
 * it only those devices (`accepts`), and a stray one fails permanently as
 * `<kind>_wrong_device`. `send` answers the push service's id for the message,
 * or undefined when the service names none: the id is then made from the
 * delivery and the device, which is unique per send.
 */
export function createPushProvider<K extends PushKind>(kind: K, send: (push: PushMessage<K>, ctx: SendContext) => Promise<string | undefined>): Provider {
  return {
    name: kind,
    channels: ['push'],
    accepts: (envelope: Envelope) => envelope.channel === 'push' && envelope.message.device.kind === kind,
    async send(envelope, ctx) {
      const push = messageFor(envelope, 'push');
      if (!isOfKind(push, kind)) {
        throw new ProviderError(`${kind} cannot send to a ${push.device.kind} device`, { code: `${kind}_wrong_device`, retryable: false });
      }
      return { providerMessageId: (await send(push, ctx)) ?? `${kind}:${ctx.deliveryId}:${push.device.id}` };
    },
  };
}

function isOfKind<K extends PushKind>(push: ChannelMessage['push'], kind: K): push is PushMessage<K> {
  return push.device.kind === kind;
}

/** What a classification may add: the device is gone (forget it), or the service is throttling us. */
export interface PushFailureFlags {
  gone?: boolean;
  rateLimited?: boolean;
}

/**
 * For classifying one answer of a push service: `fail(code, retryable, flags)`
 * makes its ProviderError, keeping the service's Retry-After only when the
 * failure is retried (a permanent one has no "later").
 */
export function pushFailure(message: string, cause: unknown, retryAfterMs: number | undefined) {
  return (code: string, retryable: boolean, flags: PushFailureFlags = {}) =>
    new ProviderError(message, { code, retryable, retryAfterMs: retryable ? retryAfterMs : undefined, cause, ...flags });
}

/** The push service could not be reached (DNS, refused, reset): transient, named by Node's error code only. */
export function pushUnreachable(kind: PushKind, service: string, err: unknown): ProviderError {
  return new ProviderError(`${service} unreachable (${errnoCode(err) ?? 'unknown'})`, { code: `${kind}_network`, retryable: true, cause: err });
}
