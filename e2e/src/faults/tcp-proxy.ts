import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL or Redis that can take the service "down":
 * `cut()` drops every open connection and refuses new ones (as a stopped server
 * does), `restore()` accepts again. The real server keeps running for others.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<this> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  /** Drops all connections and refuses new ones until restore(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise((resolve) => server.close(resolve)) : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}

/** host and port of a redis:// or postgresql:// URL. */
export function hostPort(url: string): [string, number] {
  const u = new URL(url);
  return [u.hostname, Number(u.port || (u.protocol.startsWith('redis') ? 6379 : 5432))];
}

/** The same URL, pointed at the proxy. */
export function through(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
