import { afterEach, describe, expect, it } from 'vitest';
import { loadEnv } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import type { Envelope, Provider, SendContext } from './provider.js';
import { closedPort, logged, sendError } from './testing/provider-test-kit.js';
import { createSmtpProvider, smtpProviderFromEnv } from './smtp.js';
import { startSmtpTestServer, type SmtpTestServer, type SmtpTestServerOptions } from './testing/smtp-test-server.js';

const FROM = 'Notifications <notify@sender.test>';
const ctx: SendContext = { deliveryId: 'd1', notificationId: 'n1', attempt: 1, log: createLogger('silent') };

function email(to: string, overrides: Partial<{ subject: string; text: string; html: string; headers: Record<string, string> }> = {}): Envelope {
  return {
    channel: 'email',
    message: { to, subject: 'Your order shipped', text: 'Plain text body', html: '<p>HTML <b>body</b></p>', ...overrides },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Providers first: the pool says QUIT, so the server has no connection left to wait for.
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(opts: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const s = await startSmtpTestServer(opts);
  cleanups.push(() => s.close());
  return s;
}

function provider(url: string, from = FROM): Provider {
  const p = createSmtpProvider({ url, from });
  cleanups.push(async () => p.close?.());
  return p;
}

describe('smtp provider', () => {
  it('delivers from, to, subject and text + html as multipart/alternative, returning the Message-ID', async () => {
    const s = await server();
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const { providerMessageId } = await p.send(email('jane@example.com'), ctx);

    expect(s.received).toHaveLength(1);
    const { mail, envelope } = s.received[0]!;
    expect(envelope).toEqual({ from: 'notify@sender.test', to: ['jane@example.com'] });
    expect(mail.from?.value).toEqual([{ name: 'Notifications', address: 'notify@sender.test' }]);
    expect(mail.to).toMatchObject({ value: [{ address: 'jane@example.com' }] });
    expect(mail.subject).toBe('Your order shipped');
    expect(mail.text?.trim()).toBe('Plain text body');
    expect(mail.html).toBe('<p>HTML <b>body</b></p>');
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(providerMessageId).toMatch(/^<.+@.+>$/);
    expect(mail.messageId).toBe(providerMessageId);
  });

  it('sends the extra headers of the message (List-Unsubscribe)', async () => {
    const s = await server();
    const p = provider(`smtp://127.0.0.1:${s.port}`);
    const headers = { 'List-Unsubscribe': '<https://notify.example.com/unsubscribe/t0k.en>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };

    await p.send(email('jane@example.com', { headers }), ctx);

    const lines = s.received[0]!.mail.headerLines;
    expect(lines.find((h) => h.key === 'list-unsubscribe')?.line).toBe('List-Unsubscribe: <https://notify.example.com/unsubscribe/t0k.en>');
    expect(lines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  });

  it('keeps non-ASCII subjects and bodies intact', async () => {
    const s = await server();
    const p = provider(`smtp://127.0.0.1:${s.port}`);
    await p.send(email('jane@example.com', { subject: 'Grüße – ünïcödé ✓', text: 'Straße 🚚', html: '<p>Straße 🚚</p>' }), ctx);
    const { mail } = s.received[0]!;
    expect(mail.subject).toBe('Grüße – ünïcödé ✓');
    expect(mail.text?.trim()).toBe('Straße 🚚');
    expect(mail.html).toBe('<p>Straße 🚚</p>');
  });

  it('logs in with the user and password from the URL (URL-decoded)', async () => {
    const s = await server({ auth: { user: 'relay@sender.test', pass: 'p@ss:w/rd' } });
    const p = provider(`smtp://${encodeURIComponent('relay@sender.test')}:${encodeURIComponent('p@ss:w/rd')}@127.0.0.1:${s.port}`);

    await p.send(email('jane@example.com'), ctx);

    expect(s.logins).toEqual([{ user: 'relay@sender.test', pass: 'p@ss:w/rd' }]);
    expect(s.received).toHaveLength(1);
    expect(s.received[0]!.user).toBe('relay@sender.test');
  });

  it('treats rejected credentials (535) as retryable: our configuration, not the message', async () => {
    const s = await server({ auth: { user: 'relay', pass: 'right' } });
    const p = provider(`smtp://relay:wrong@127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane@example.com'));

    expect(err).toMatchObject({ code: 'smtp_535', retryable: true, rateLimited: false });
    expect(s.received).toHaveLength(0);
  });

  it('makes a 550 at RCPT TO permanent, without the echoed address in the message or its cause', async () => {
    const s = await server({ onRecipient: (a) => ({ code: 550, message: `5.1.1 <${a}>: Recipient address rejected` }) });
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane.doe@example.com'));

    expect(err).toMatchObject({ code: 'smtp_550', retryable: false, suppress: 'hard_bounce' });
    expect(err.message).toContain('Recipient address rejected');
    expect(err.cause).toBeInstanceOf(Error);
    const cause = err.cause as Error;
    expect(cause).toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    for (const text of [err.message, err.stack, cause.message, cause.stack, JSON.stringify(cause)]) {
      expect(text).not.toContain('jane.doe');
    }
  });

  it('logs neither the address nor the password when an error is logged with pino', async () => {
    const s = await server({ auth: { user: 'relay', pass: 'hunter2' }, onRecipient: (a) => ({ code: 550, message: `<${a}> unknown` }) });
    const p = provider(`smtp://relay:hunter2@127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane.doe@example.com'));

    const line = logged(err);
    expect(line).toContain('smtp_550');
    expect(line).toContain('unknown');
    expect(line).not.toContain('jane.doe');
    expect(line).not.toContain('hunter2');
  });

  it('makes a 451 at RCPT TO retryable', async () => {
    const s = await server({ onRecipient: () => ({ code: 451, message: '4.7.1 Greylisted, try again later' }) });
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane@example.com'));

    expect(err).toMatchObject({ code: 'smtp_451', retryable: true, rateLimited: false, suppress: undefined });
  });

  it('makes a 554 after DATA permanent and strips addresses from the reply', async () => {
    const s = await server({ onMessage: () => ({ code: 554, message: '5.7.1 Message to jane@example.com rejected as spam' }) });
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane@example.com'));

    // The message was refused, not the mailbox: the address is not suppressed.
    expect(err).toMatchObject({ code: 'smtp_554', retryable: false, suppress: undefined });
    expect(err.cause).toMatchObject({ code: 'EMESSAGE' });
    expect(err.message).toContain('rejected as spam');
    expect(err.message).not.toContain('jane@example.com');
    expect(s.received).toHaveLength(0);
  });

  it('makes a recipient refused while others were accepted (info.rejected) permanent, as a retry would duplicate', async () => {
    const s = await server({ onRecipient: (a) => (a.startsWith('gone') ? { code: 550, message: `<${a}> no such user` } : undefined) });
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane@example.com, gone@example.com'));

    expect(err).toMatchObject({ code: 'smtp_550', retryable: false });
    expect(err.message).toBe('SMTP server refused 1 of 2 recipients');
    expect(s.received.map((r) => r.envelope.to)).toEqual([['jane@example.com']]);
  });

  it('makes an unreachable server retryable (smtp_connection)', async () => {
    const p = provider(`smtp://127.0.0.1:${await closedPort()}`);

    const err = await sendError(p, email('jane@example.com'));

    expect(err).toMatchObject({ code: 'smtp_connection', retryable: true });
    expect(err.cause).toMatchObject({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' });
  });

  it('reuses pooled connections across sends and closes them on close()', async () => {
    const s = await server();
    const p = createSmtpProvider({ url: `smtp://127.0.0.1:${s.port}`, from: FROM });

    for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) await p.send(email(to), ctx);
    expect(s.received).toHaveLength(3);
    expect(s.connections.opened).toBe(1);
    expect(s.connections.closed).toBe(0);

    await p.close?.();
    await expect.poll(() => s.connections.closed).toBe(1);
    const err = await sendError(p, email('d@example.com'));
    expect(err).toMatchObject({ code: 'smtp_connection', retryable: true });
  });

  it('upgrades with STARTTLS when the server offers it', async () => {
    const s = await server({ starttls: true });
    // smtp-server's built-in certificate is self-signed for localhost (and expired in 2025).
    const p = provider(`smtp://127.0.0.1:${s.port}?tls.rejectUnauthorized=false`);

    await p.send(email('jane@example.com'), ctx);

    expect(s.received[0]!.secure).toBe(true);
  });

  it('refuses a certificate it cannot verify on STARTTLS (self-signed, expired), retryably', async () => {
    const s = await server({ starttls: true });
    const p = provider(`smtp://127.0.0.1:${s.port}`);

    const err = await sendError(p, email('jane@example.com'));

    expect(err).toMatchObject({ code: 'smtp_connection', retryable: true });
    expect(err.message).toMatch(/certificate/);
    expect(s.received).toHaveLength(0);
  });

  it('speaks TLS from the start with smtps://', async () => {
    const s = await server({ secure: true, auth: { user: 'relay', pass: 'secret' } });
    const p = provider(`smtps://relay:secret@127.0.0.1:${s.port}?tls.rejectUnauthorized=false`);

    await p.send(email('jane@example.com'), ctx);

    expect(s.received[0]).toMatchObject({ secure: true, user: 'relay' });
  });

  it('smtpProviderFromEnv reads SMTP_URL and EMAIL_FROM', async () => {
    const s = await server();
    const p = smtpProviderFromEnv(loadEnv({ SMTP_URL: `smtp://127.0.0.1:${s.port}`, EMAIL_FROM: 'Alerts <alerts@env.test>' }));
    cleanups.push(async () => p.close?.());

    expect(p).toMatchObject({ name: 'smtp', channels: ['email'] });
    await p.send(email('jane@example.com'), ctx);
    expect(s.received[0]!.mail.from?.text).toBe('"Alerts" <alerts@env.test>');
  });

  it('rejects a URL that is not smtp:// or smtps:// without echoing it (it holds the password)', () => {
    expect(() => createSmtpProvider({ url: 'http://user:hunter2@mail.test', from: FROM })).toThrow(/^SMTP_URL must be a smtp:\/\/ or smtps:\/\/ URL$/);
    expect(() => createSmtpProvider({ url: 'not a url hunter2', from: FROM })).toThrow(/^SMTP_URL must be/);
  });

  it('refuses a message for another channel', async () => {
    const p = provider('smtp://127.0.0.1:1');
    await expect(p.send({ channel: 'sms', message: { to: '+15551234567', body: 'hi' } }, ctx)).rejects.toThrow('expected a email message, got sms');
  });
});
