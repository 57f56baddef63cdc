import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * The SSRF guard for user-supplied webhook URLs: a webhook must not reach our
 * own network (loopback, private ranges, link-local, cloud metadata), however
 * the address is spelled (decimal, hex or octal IPv4, or an IPv6 form that
 * carries an IPv4 address: mapped, compatible, translated, NAT64, 6to4,
 * Teredo) or whichever name resolves to it. Checked when the URL is
 * registered and again at send time, where the connection is pinned to the
 * checked address so a DNS answer cannot change in between (rebinding).
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
  ['64:ff9b::', 96], // well-known NAT64: the gateway reaches whatever IPv4 it embeds, our own network included
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): inside an operator's network by definition, prefix length unknown
  ['2001::', 32], // Teredo: tunnels to an embedded (obfuscated) IPv4 client and server; obsolete, refused whole
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. AWS metadata fd00:ec2::254
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net6, bits, 'ipv6');
}

/** An IPv6 address as its 8 groups of 16 bits; `ip` must be valid IPv6 (net.isIP(ip) === 6). */
export function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase().replace(/%.*$/, ''); // a zone id names an interface, not part of the address
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const front = part(head);
  const back = part(tail);
  return tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

const dottedQuad = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The IPv4 addresses an IPv6 address hands traffic to, for the forms where
 * the network (or the host's own stack) connects to the embedded IPv4:
 * IPv4-compatible `::a.b.c.d` (deprecated, some stacks still route it),
 * IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d` and 6to4
 * `2002:AABB:CCDD::/48`. NAT64 and Teredo are refused whole by FORBIDDEN.
 */
export function embeddedIPv4(ip: string): string[] {
  if (net.isIP(ip) !== 6) return [];
  const g = ipv6Groups(ip) as [number, number, number, number, number, number, number, number];
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const last32 = dottedQuad(g[6], g[7]);
  const found: string[] = [];
  if (zeroTo(6)) found.push(last32); // compatible, incl. :: and ::1 (0.0.0.0/8, refused)
  if (zeroTo(5) && g[5] === 0xffff) found.push(last32); // mapped
  if (zeroTo(4) && g[4] === 0xffff && g[5] === 0) found.push(last32); // translated (SIIT)
  if (g[0] === 0x2002) found.push(dottedQuad(g[1], g[2])); // 6to4: the relay delivers to the IPv4 in bits 16-48
  return found;
}

/** Whether an IP address is one a webhook must never reach, including IPv6 forms of a refused IPv4 address. */
export function isForbiddenAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 0) return true;
  if (family === 4) return FORBIDDEN.check(ip, 'ipv4');
  return FORBIDDEN.check(ip, 'ipv6') || embeddedIPv4(ip).some((v4) => FORBIDDEN.check(v4, 'ipv4'));
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
