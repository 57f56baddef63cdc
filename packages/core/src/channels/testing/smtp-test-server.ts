import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** An SMTP reply the server gives instead of accepting, e.g. `{ code: 550, message: 'No such user' }`. */
export interface SmtpReply {
  code: number;
  message: string;
}

export interface SmtpTestServerOptions {
  /** Require AUTH with these credentials (plain text allowed, as on a local relay). Default: no AUTH offered. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (smtp-server's built-in localhost certificate). Default false. */
  starttls?: boolean;
  /** TLS from the first byte, as on port 465. Default false. */
  secure?: boolean;
  /** Refuse a recipient at RCPT TO; undefined accepts it. */
  onRecipient?: (address: string) => SmtpReply | undefined;
  /** Refuse the message after DATA; undefined accepts it. */
  onMessage?: (mail: ParsedMail) => SmtpReply | undefined;
  /** Listen on this port (e.g. to bring a "down" server back); default a random one. */
  port?: number;
}

export interface ReceivedMail {
  /** MAIL FROM and RCPT TO as the server saw them. */
  envelope: { from: string | undefined; to: string[] };
  /** Whether the connection was TLS when the message arrived (implicit TLS or after STARTTLS). */
  secure: boolean;
  /** The AUTH user, when the client logged in. */
  user: string | undefined;
  mail: ParsedMail;
}

export interface SmtpTestServer {
  readonly port: number;
  /** Messages accepted, in order. */
  readonly received: ReceivedMail[];
  /** Every AUTH attempt's credentials, accepted or not. */
  readonly logins: { user: string | undefined; pass: string | undefined }[];
  /** TCP connections opened and closed so far. */
  readonly connections: { opened: number; closed: number };
  close(): Promise<void>;
}

function replyError({ code, message }: SmtpReply): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A real SMTP server (smtp-server) on 127.0.0.1 and a random port, parsing what it accepts with mailparser. */
export async function startSmtpTestServer(opts: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const received: ReceivedMail[] = [];
  const logins: SmtpTestServer['logins'] = [];
  const connections = { opened: 0, closed: 0 };
  const disabled = [...(opts.auth ? [] : ['AUTH']), ...(opts.starttls ? [] : ['STARTTLS'])];
  const options: SMTPServerOptions = {
    secure: opts.secure ?? false,
    disabledCommands: disabled,
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    logger: false,
    // A client that never closes (a leaked pool) must not stall the test run for the default 30 s.
    closeTimeout: 1000,
    onConnect(_session, callback) {
      connections.opened++;
      callback();
    },
    onClose() {
      connections.closed++;
    },
    onAuth(auth, _session, callback) {
      logins.push({ user: auth.username, pass: auth.password ?? undefined });
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) {
        return callback(null, { user: auth.username });
      }
      callback(replyError({ code: 535, message: 'Authentication credentials invalid' }));
    },
    onRcptTo(address, _session, callback) {
      const reply = opts.onRecipient?.(address.address);
      callback(reply ? replyError(reply) : null);
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          const reply = opts.onMessage?.(mail);
          if (reply) return callback(replyError(reply));
          const from = session.envelope.mailFrom;
          received.push({
            envelope: { from: from ? from.address : undefined, to: session.envelope.rcptTo.map((r) => r.address) },
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
            mail,
          });
          callback();
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    received,
    logins,
    connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
