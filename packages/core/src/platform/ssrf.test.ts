import { describe, expect, it } from 'vitest';
import { embeddedIPv4, ipv6Groups, isForbiddenAddress, resolveWebhookTarget, WebhookUrlError } from './ssrf.js';
import { EMBEDDED_LOOPBACK_FORMS } from '../testing/ssrf-forms.js';

const none = new Set<string>();
const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    'not-an-ip',
  ])('refuses %s', (ip) => expect(isForbiddenAddress(ip)).toBe(true));

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::1', '2001:4860:4860::8888'])('allows %s', (ip) =>
    expect(isForbiddenAddress(ip)).toBe(false),
  );
});

describe('IPv6 forms of a refused IPv4 address', () => {
  it('decodes the IPv4 each embedding form carries', () => {
    expect(embeddedIPv4('::127.0.0.1')).toEqual(['127.0.0.1']);
    expect(embeddedIPv4('::7f00:1')).toEqual(['127.0.0.1']);
    expect(embeddedIPv4('::ffff:10.1.2.3')).toEqual(['10.1.2.3']);
    expect(embeddedIPv4('::ffff:0:c0a8:101')).toEqual(['192.168.1.1']);
    expect(embeddedIPv4('2002:c0a8:101:5::9')).toEqual(['192.168.1.1']);
    expect(embeddedIPv4('2606:4700::1111')).toEqual([]);
    expect(embeddedIPv4('8.8.8.8')).toEqual([]);
  });

  it.each(EMBEDDED_LOOPBACK_FORMS)('refuses the literal %s (%s) even where DNS would answer a public address', async (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
    // The resolver answers a public address: only the literal check can refuse this.
    await expect(resolveWebhookTarget(`http://[${ip}]/hook`, none, resolvesTo('93.184.216.34'))).rejects.toThrow(/private or reserved/);
  });

  it.each(EMBEDDED_LOOPBACK_FORMS)('refuses a name whose DNS answer is %s (%s)', async (ip) => {
    await expect(resolveWebhookTarget('https://hooks.example.com/x', none, resolvesTo(ip))).rejects.toThrow(/private or reserved/);
    await expect(resolveWebhookTarget('https://hooks.example.com/x', none, resolvesTo('93.184.216.34', ip))).rejects.toThrow(/private or reserved/);
  });

  it('still accepts a public IPv6 literal and a 6to4 address of a public IPv4', async () => {
    expect((await resolveWebhookTarget('http://[2606:4700:4700::1111]/', none, resolvesTo('127.0.0.1'))).address).toBe('2606:4700:4700::1111');
    expect((await resolveWebhookTarget('http://[2002:808:808::1]/', none, resolvesTo('127.0.0.1'))).address).toBe('2002:808:808::1');
  });
});

describe('resolveWebhookTarget', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://localhost/hook',
    'http://2130706433/hook', // decimal 127.0.0.1
    'http://0x7f.0.0.1/hook', // hex
    'http://0177.0.0.1/hook', // octal
    'http://127.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[fd00:ec2::254]/',
  ])('refuses %s', async (url) => {
    // Literals are judged themselves; localhost is judged by its (loopback) answer.
    const answer = url.includes('localhost') ? '127.0.0.1' : '93.184.216.34';
    await expect(resolveWebhookTarget(url, none, resolvesTo(answer))).rejects.toThrow(/private or reserved/);
  });

  it('refuses a name that resolves to a private address, even among public ones', async () => {
    await expect(resolveWebhookTarget('https://evil.example/hook', none, resolvesTo('93.184.216.34', '10.0.0.5'))).rejects.toThrow(/10\.0\.0\.5/);
  });

  it('refuses other schemes, credentials and names that do not resolve', async () => {
    await expect(resolveWebhookTarget('ftp://example.com/', none, resolvesTo('93.184.216.34'))).rejects.toThrow(/http or https/);
    await expect(resolveWebhookTarget('https://u:p@example.com/', none, resolvesTo('93.184.216.34'))).rejects.toThrow(/credentials/);
    await expect(resolveWebhookTarget('https://nowhere.invalid/', none, resolvesTo())).rejects.toThrow(/does not resolve/);
    await expect(resolveWebhookTarget('not a url', none)).rejects.toThrow(/not a URL/);
  });

  it('accepts a public address and pins it', async () => {
    const t = await resolveWebhookTarget('https://hooks.example.com/x', none, resolvesTo('93.184.216.34'));
    expect(t).toMatchObject({ address: '93.184.216.34', family: 4 });
  });

  it('lets hosts in WEBHOOK_ALLOWED_HOSTS through', async () => {
    const t = await resolveWebhookTarget('http://localhost:8080/hook', new Set(['localhost']), resolvesTo('127.0.0.1'));
    expect(t.address).toBeNull();
  });
});

describe('address parsing and the edges of resolveWebhookTarget', () => {
  it('reads every IPv6 spelling into eight groups', () => {
    expect(ipv6Groups('1:2::7:8')).toEqual([1, 2, 0, 0, 0, 0, 7, 8]);
    expect(ipv6Groups('0:0:0:0:0:ffff:7f00:1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(ipv6Groups('::FFFF:192.168.100.200')).toEqual([0, 0, 0, 0, 0, 0xffff, 0xc0a8, 0x64c8]);
    // A zone id (fe80::1%eth0) names an interface; the dotted tail before it is still read.
    expect(ipv6Groups('::ffff:10.0.0.1%eth0')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
  });

  it('decodes only the embedding forms, with multi-digit octets and a zone id', () => {
    expect(embeddedIPv4('0:0:0:0:0:ffff:7f00:1')).toEqual(['127.0.0.1']);
    expect(embeddedIPv4('0:0::ffff:7f00:1')).toEqual(['127.0.0.1']);
    expect(embeddedIPv4('::ffff:192.168.100.200')).toEqual(['192.168.100.200']);
    expect(embeddedIPv4('::ffff:10.0.0.1%eth0')).toEqual(['10.0.0.1']);
    // ::ffff:N:a.b.c.d with N other than 0 is none of the forms.
    expect(embeddedIPv4('::ffff:1:7f00:1')).toEqual([]);
    // IPv4 text is not an IPv6 form, even the one that would read as all zeros.
    expect(embeddedIPv4('0.0.0.0')).toEqual([]);
  });

  it('pins an IPv6 answer as family 6', async () => {
    expect(await resolveWebhookTarget('http://[2606:4700:4700::1111]/', none)).toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
    const byName = await resolveWebhookTarget('https://hooks.example.com/', none, resolvesTo('2606:4700:4700::1111', '93.184.216.34'));
    expect(byName).toMatchObject({ address: '2606:4700:4700::1111', family: 6 });
  });

  it('refuses a user name alone and a password alone', async () => {
    await expect(resolveWebhookTarget('https://u@example.com/', none, resolvesTo('93.184.216.34'))).rejects.toThrow(/credentials/);
    await expect(resolveWebhookTarget('https://:p@example.com/', none, resolvesTo('93.184.216.34'))).rejects.toThrow(/credentials/);
  });

  it('turns a failed DNS lookup into a WebhookUrlError (a 422 for the caller, not a 500)', async () => {
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const err = await resolveWebhookTarget('https://nowhere.invalid/', none, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookUrlError);
    expect(err).toMatchObject({ name: 'WebhookUrlError', message: 'host nowhere.invalid does not resolve' });
  });

  it('uses the system resolver by default (localhost, from the hosts file: no traffic leaves the machine)', async () => {
    await expect(resolveWebhookTarget('http://localhost:9/hook', none)).rejects.toThrow(/private or reserved address \((127\.0\.0\.1|::1)\)/);
  });
});
