import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, newId } from './ids.js';

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
