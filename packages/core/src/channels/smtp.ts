import nodemailer from 'nodemailer';
import type { NodemailerError } from 'nodemailer';
import type { Env } from '../platform/env.js';
import { messageFor, type Provider } from './provider.js';
import { ProviderError, scrubbedError } from './provider-error.js';

export interface SmtpProviderOptions {
  /**
   * `smtp://user:pass@host:587` (STARTTLS when the server offers it) or
   * `smtps://user:pass@host:465` (TLS from the start). User and password are
   * URL-encoded. Query parameters set further nodemailer options, e.g.
   * `?maxConnections=10&connectionTimeout=5000&tls.rejectUnauthorized=false`.
   */
  url: string;
  /** The From header and envelope sender, e.g. `Notifications <notify@example.com>`. */
  from: string;
}

/**
 * Sent before the URL's own query parameters, which win. nodemailer waits 2
 * minutes for a connection by default: a black-holed server would hold a
 * worker slot that long before the provider chain could fail over.
 */
const TRANSPORT_DEFAULTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 60_000,
} as const;

/** Email over SMTP through one pooled nodemailer transport (connections are reused across sends). */
export function createSmtpProvider(opts: SmtpProviderOptions): Provider {
  const protocol = URL.canParse(opts.url) ? new URL(opts.url).protocol : undefined;
  // Never echo the URL: it carries the password.
  if (protocol !== 'smtp:' && protocol !== 'smtps:') throw new Error('SMTP_URL must be a smtp:// or smtps:// URL');
  const transport = nodemailer.createTransport({ ...TRANSPORT_DEFAULTS, url: opts.url, pool: true });
  return {
    name: 'smtp',
    channels: ['email'],
    async send(envelope) {
      const m = messageFor(envelope, 'email');
      const info = await transport.sendMail({ from: opts.from, to: m.to, subject: m.subject, text: m.text, html: m.html, headers: m.headers }).catch((err: unknown) => {
        throw smtpError(err, m.to);
      });
      // Only some of several recipients were refused: the others already have the message, so a retry would duplicate it.
      if (info.rejected.length > 0) {
        const responseCode = info.rejectedErrors?.[0]?.responseCode;
        throw new ProviderError(`SMTP server refused ${info.rejected.length} of ${info.envelope.to.length} recipients`, {
          code: responseCode === undefined ? 'smtp_rejected' : `smtp_${responseCode}`,
          retryable: false,
        });
      }
      return { providerMessageId: info.messageId };
    },
    async close() {
      transport.close();
    },
  };
}

export function smtpProviderFromEnv(env: Env): Provider {
  return createSmtpProvider({ url: env.SMTP_URL, from: env.EMAIL_FROM });
}

/** nodemailer codes for a connection that failed or broke; no SMTP reply involved. */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'EPROXY', 'ECONNREFUSED', 'ECONNRESET']);
/** Replies about our credentials, not the message: the next provider or a fixed config will do. */
const AUTH_REPLIES = new Set([530, 534, 535, 538]);

/**
 * Classifies a nodemailer failure. A 5xx reply refuses the message for good,
 * except 503 (wrong session state, fine on a new connection) and AUTH
 * failures (our configuration, which must fail over and trip the breaker
 * rather than end every delivery). 4xx replies and broken connections are transient.
 */
function smtpError(thrown: unknown, to: string): ProviderError {
  if (!(thrown instanceof Error)) {
    return new ProviderError(redact(String(thrown), to), { code: 'smtp_error', retryable: true });
  }
  const err: NodemailerError = thrown;
  const message = redact(err.message, to);
  const cause = scrubbed(err, to);
  const reply = err.responseCode;
  if (reply !== undefined) {
    const permanent = reply >= 500 && reply !== 503 && !AUTH_REPLIES.has(reply) && err.code !== 'EAUTH';
    // Refused at RCPT TO: the mailbox, not the message (a 5xx after DATA is about the content), so the address bounces hard.
    const suppress = permanent && err.command === 'RCPT TO' ? ('hard_bounce' as const) : undefined;
    return new ProviderError(message, { code: `smtp_${reply}`, retryable: !permanent, suppress, cause });
  }
  if (err.code === undefined || CONNECTION_CODES.has(err.code)) {
    return new ProviderError(message, { code: 'smtp_connection', retryable: true, cause });
  }
  // Refused by nodemailer itself before anything was sent, e.g. an address it cannot parse.
  if (err.code === 'EENVELOPE') return new ProviderError(message, { code: 'smtp_envelope', retryable: false, cause });
  return new ProviderError(message, { code: `smtp_${err.code.toLowerCase()}`, retryable: true, cause });
}

const EMAIL_ADDRESS = /[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g;

/** Servers echo the recipient in replies (`550 <jane@example.com>: unknown user`); error messages are stored and logged. */
function redact(text: string, to: string): string {
  const named = to.trim() === '' ? text : text.split(to).join('[recipient]');
  return named.replace(EMAIL_ADDRESS, '[address]');
}

/** The error without addresses, kept as the cause (the original also holds the raw server reply). */
function scrubbed(err: NodemailerError, to: string): Error {
  const { code, originalCode, responseCode, command } = err;
  return scrubbedError(err, (text) => redact(text, to), { code, originalCode, responseCode, command });
}
