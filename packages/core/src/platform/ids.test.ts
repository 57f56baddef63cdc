import { describe, expect, it } from 'vitest';
import { decodeCursor, decodeKeyCursor, encodeCursor, encodeKeyCursor, isUuid, newId } from './ids.js';

describe('cursors', () => {
  it('round-trip an id', () => {
    const id = newId();
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  it('refuse anything that is not one of ours', () => {
    expect(decodeCursor('zzz')).toBeNull();
    expect(decodeCursor(Buffer.from("1' OR 1=1").toString('base64url'))).toBeNull();
  });
});

describe('isUuid', () => {
  it('accepts our ids in any case, and nothing PostgreSQL would refuse', () => {
    expect(isUuid(newId())).toBe(true);
    expect(isUuid(newId().toUpperCase())).toBe(true);
    for (const bad of ['-'.repeat(36), 'abc', `${newId()}x`, `{${newId()}}`, newId().replace(/-/g, ''), 'g'.repeat(8) + newId().slice(8), '']) {
      expect(isUuid(bad)).toBe(false);
    }
  });
});

describe('key cursors', () => {
  it('round-trip a key, and refuse one holding a NUL, invalid UTF-8 or nothing', () => {
    expect(decodeKeyCursor(encodeKeyCursor('user:42'))).toBe('user:42');
    expect(decodeKeyCursor(encodeKeyCursor('a\u0000b'))).toBeNull();
    expect(decodeKeyCursor(Buffer.from([0xff, 0xfe]).toString('base64url'))).toBeNull();
    expect(decodeKeyCursor('')).toBeNull();
  });
});
