import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsCertificate {
  /** PEM; also the CA to trust, as the certificate signs itself. */
  cert: string;
  key: string;
}

/**
 * A throwaway self-signed certificate for localhost and 127.0.0.1, made by the openssl
 * command line so the tests need no fixture files (and no keys in git).
 */
export async function createTlsCertificate(): Promise<TlsCertificate> {
  const dir = await mkdtemp(path.join(tmpdir(), 'notify-tls-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A request as it reached a test server, body unparsed. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface TlsServer {
  /** `https://127.0.0.1:<port>` */
  origin: string;
  /** Trusts only this server's certificate; close() destroys it. */
  agent: https.Agent;
  close(): Promise<void>;
}

export type TlsHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/** An HTTPS server on 127.0.0.1 (random port) that hands each request, body read, to `handler`. */
export async function startTlsServer(tls: TlsCertificate, handler: TlsHandler): Promise<TlsServer> {
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      Promise.resolve(handler(recorded, res)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new https.Agent({ ca: tls.cert, keepAlive: true });
  return {
    origin: `https://127.0.0.1:${port}`,
    agent,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
