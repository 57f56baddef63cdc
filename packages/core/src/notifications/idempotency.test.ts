import { createHash } from 'node:crypto';
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

describe('requestHash, the canonical form', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  it('is exactly sorted-key JSON: stored hashes must still match after a deploy', () => {
    const body = { to: { user_id: 'u1' }, data: { z: [3, { y: null, x: 'é' }], a: true }, channels: ['sms', 'email'], skip: undefined };
    expect(requestHash(body)).toBe(sha256('{"channels":["sms","email"],"data":{"a":true,"z":[3,{"x":"é","y":null}]},"to":{"user_id":"u1"}}'));
  });

  it('keeps an array apart from an object with the same numbered keys', () => {
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: { 0: 1, 1: 2 } }));
  });
});
