import { describe, expect, it } from 'vitest';
import { requestHash } from './idempotency.js';

describe('requestHash', () => {
  it('ignores key order and undefined fields', () => {
    expect(requestHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(requestHash({ b: { d: 'x', c: [1, 2] }, a: 1, e: undefined }));
  });

  it('changes with any value, including array order', () => {
    const base = requestHash({ a: [1, 2] });
    expect(requestHash({ a: [2, 1] })).not.toBe(base);
    expect(requestHash({ a: [1, 2], b: null })).not.toBe(base);
  });
});
