import { describe, expect, it } from 'vitest';
import { readUnsubscribeToken, unsubscribeHeaders, unsubscribeSettings, unsubscribeToken } from './unsubscribe.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const target = { appId: 'app-1', userId: 'user|42', category: 'marketing' };

describe('unsubscribe tokens', () => {
  it('reads back what it signed, and nothing else', () => {
    const token = unsubscribeToken(SECRET, target);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(readUnsubscribeToken(SECRET, token)).toEqual(target);
    expect(readUnsubscribeToken(SECRET, unsubscribeToken(SECRET, { ...target, category: null }))).toEqual({ ...target, category: null });
    expect(readUnsubscribeToken(`${SECRET}!`, token)).toBeNull();
    const [payload, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ a: 'app-1', u: 'someone-else', c: 'marketing' })).toString('base64url');
    expect(readUnsubscribeToken(SECRET, `${forged}.${signature}`)).toBeNull();
    expect(readUnsubscribeToken(SECRET, `${payload}.${signature}.x`)).toBeNull();
    expect(readUnsubscribeToken(SECRET, payload)).toBeNull();
    expect(readUnsubscribeToken(SECRET, '')).toBeNull();
  });
});

describe('unsubscribe headers', () => {
  it('gives the HTTPS link, then the mailto when set, and the one-click header', () => {
    const s = { publicUrl: 'https://notify.example.com', secret: SECRET, mailto: 'unsubscribe@example.com' };
    const token = unsubscribeToken(SECRET, target);
    expect(unsubscribeHeaders(s, target)).toEqual({
      'List-Unsubscribe': `<https://notify.example.com/unsubscribe/${token}>, <mailto:unsubscribe@example.com?subject=unsubscribe%20${token}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribeHeaders({ ...s, mailto: undefined }, target)['List-Unsubscribe']).toBe(`<https://notify.example.com/unsubscribe/${token}>`);
  });

  it('is off without a secret or a public URL', () => {
    expect(unsubscribeSettings({ PUBLIC_URL: 'https://n.example/', UNSUBSCRIBE_SECRET: SECRET, UNSUBSCRIBE_MAILTO: '' })).toEqual({
      publicUrl: 'https://n.example',
      secret: SECRET,
      mailto: undefined,
    });
    expect(unsubscribeSettings({ PUBLIC_URL: '', UNSUBSCRIBE_SECRET: SECRET, UNSUBSCRIBE_MAILTO: '' })).toBeUndefined();
    expect(unsubscribeSettings({ PUBLIC_URL: 'https://n.example', UNSUBSCRIBE_SECRET: '', UNSUBSCRIBE_MAILTO: 'x@y' })).toBeUndefined();
  });
});
