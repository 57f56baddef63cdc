/**
 * Every IPv6 spelling that carries a refused IPv4 address (or leads into a
 * translator we cannot see behind), for tests of every place a webhook URL is checked.
 */
export const EMBEDDED_LOOPBACK_FORMS = [
  ['::127.0.0.1', 'IPv4-compatible, dotted'],
  ['::7f00:1', 'IPv4-compatible, hex'],
  ['::ffff:127.0.0.1', 'IPv4-mapped, dotted'],
  ['::ffff:7f00:1', 'IPv4-mapped, hex'],
  ['::ffff:0:7f00:1', 'IPv4-translated (SIIT)'],
  ['::ffff:0:a9fe:a9fe', 'IPv4-translated metadata 169.254.169.254'],
  ['::a9fe:a9fe', 'IPv4-compatible metadata 169.254.169.254'],
  ['64:ff9b::7f00:1', 'NAT64 well-known /96'],
  ['64:ff9b::808:808', 'NAT64 well-known /96, even with a public IPv4'],
  ['64:ff9b:1::7f00:1', 'NAT64 local-use /48'],
  ['64:ff9b:1:7f00:0:100::', 'NAT64 local-use /48, IPv4 in a /56 position'],
  ['2002:7f00:1::', '6to4 of 127.0.0.1'],
  ['2002:a00:1:1::5', '6to4 of 10.0.0.1'],
  ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo, client 127.0.0.1'],
  ['2001::1', 'Teredo, anything'],
] as const;
