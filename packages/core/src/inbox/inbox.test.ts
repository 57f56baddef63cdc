import { describe, expect, it } from 'vitest';
import { inboxItemSource, safeLink } from './inbox.js';

describe('safeLink', () => {
  it.each(['https://example.com/orders/1?x=1#top', 'http://localhost:3000/a', '/orders/1', '/'])('keeps %s', (link) => {
    expect(safeLink(link)).toBe(link);
  });

  it.each([
    ['a script URL', 'javascript:alert(1)'],
    ['a script URL in capitals', 'JavaScript:alert(1)'],
    ['a data URL', 'data:text/html,<script>alert(1)</script>'],
    ['a protocol-relative URL', '//evil.example/x'],
    ['a backslash path (browsers read /\\ as //)', '/\\evil.example'],
    ['a path with a space', '/a b'],
    ['a relative path', 'orders/1'],
    ['an empty string', ''],
    ['a number', 42],
    ['a very long link', `https://example.com/${'a'.repeat(2000)}`],
  ])('drops %s', (_, link) => {
    expect(safeLink(link)).toBeNull();
  });
});

describe('inboxItemSource', () => {
  it("takes the template's link over data.link, and data.sender_id", () => {
    expect(inboxItemSource('/from-template', { link: '/from-data', sender_id: 'u-1' })).toEqual({ link: '/from-template', senderId: 'u-1' });
    expect(inboxItemSource(undefined, { link: '/from-data' })).toEqual({ link: '/from-data', senderId: null });
  });

  it('keeps neither when they are not fit: an unsafe link, a sender that is not a string', () => {
    expect(inboxItemSource('javascript:alert(1)', { link: '/safe-but-overridden', sender_id: 7 })).toEqual({ link: null, senderId: null });
    expect(inboxItemSource(undefined, null)).toEqual({ link: null, senderId: null });
  });
});
