import { describe, expect, it } from 'vitest';
import { embeddedIPv4, isForbiddenAddress, resolveWebhookTarget } from './ssrf.js';
import { EMBEDDED_LOOPBACK_FORMS } from '../testing/ssrf-forms.js';

const none = new Set<string>();
const resolvesTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', '::ffff:127.0.0.1',
    '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', 'not-an-ip',
  ])('refuses %s', (ip) => expect(isForbiddenAddress(ip)).toBe(true));

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::1', '2001:4860:4860::8888'])(
    'allows %s',
    (ip) => expect(isForbiddenAddress(ip)).toBe(false),
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
