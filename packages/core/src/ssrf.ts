import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * The SSRF guard for user-supplied webhook URLs: a webhook must not reach our
 * own network (loopback, private ranges, link-local, cloud metadata), however
 * the address is spelled (decimal, hex or octal IPv4, IPv4-mapped IPv6) or
 * whichever name resolves to it. Checked when the URL is registered and again
 * at send time, where the connection is pinned to the checked address so a
 * DNS answer cannot change in between (rebinding).
 */
const FORBIDDEN = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast
] as const) {
  FORBIDDEN.addSubnet(net4, bits, 'ipv4');
}
for (const [net6, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 can reach IPv4 private space
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. AWS metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net6, bits, 'ipv6');
}

/** Whether an IP address is one a webhook must never reach. IPv4-mapped IPv6 counts as its IPv4. */
export function isForbiddenAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 0) return true;
  return FORBIDDEN.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export class WebhookUrlError extends Error {
  override readonly name = 'WebhookUrlError';
}

export interface WebhookTarget {
  url: URL;
  /** The address to connect to (checked); null for an allowed host, which resolves normally. */
  address: string | null;
  family: 4 | 6 | null;
}

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;
const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Parses and checks a webhook URL: http(s), no credentials, and every address
 * its host resolves to must be public, unless the host is in `allowedHosts`
 * (WEBHOOK_ALLOWED_HOSTS). Throws WebhookUrlError saying why not.
 */
export async function resolveWebhookTarget(raw: string, allowedHosts: Set<string>, lookup: Lookup = systemLookup): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlError('must be http or https');
  if (url.username || url.password) throw new WebhookUrlError('must not contain credentials');
  // WHATWG URL parsing already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1.
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowedHosts.has(host)) return { url, address: null, family: null };
  const addresses = net.isIP(host) ? [{ address: host, family: net.isIP(host) }] : await lookup(host).catch(() => []);
  if (addresses.length === 0) throw new WebhookUrlError(`host ${host} does not resolve`);
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
  if (forbidden) throw new WebhookUrlError(`resolves to a private or reserved address (${forbidden.address})`);
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
