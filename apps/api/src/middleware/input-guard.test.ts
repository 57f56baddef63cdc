import { describe, expect, it } from 'vitest';
import { findUnsafeJson } from './input-guard.js';

/** `{"a": {"a": ... 1}}`, `levels` objects deep, built without recursion. */
function nest(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

describe('findUnsafeJson', () => {
  it('accepts ordinary JSON, up to the depth limit', () => {
    expect(findUnsafeJson({ message: 'hi', data: { list: [1, 'two', null, { x: true }] } }, 32)).toBeNull();
    expect(findUnsafeJson(nest(32), 32)).toBeNull();
  });

  it('names the first spot past the depth limit', () => {
    expect(findUnsafeJson(nest(33), 32)).toEqual({ path: Array(32).fill('a').join('.'), message: 'nests deeper than 32 levels of objects and arrays' });
    expect(findUnsafeJson({ data: [[[1]]] }, 3)?.path).toBe('data.0.0');
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeJson({ data: deep }, 32)?.path).toMatch(/^data(\.0){31}$/);
  });

  it('finds a NUL in a value or a key, with its path', () => {
    expect(findUnsafeJson({ data: { a: { b: 'x\u0000y' } } }, 32)?.path).toBe('data.a.b');
    expect(findUnsafeJson({ channels: ['email', '\u0000'] }, 32)?.path).toBe('channels.1');
    expect(findUnsafeJson({ data: { 'k\u0000': 1 } }, 32)).toEqual({ path: 'data.k\\u0000', message: 'a key must not contain a NUL character (U+0000)' });
  });

  it('skips the NUL scan when told the text cannot hold one', () => {
    expect(findUnsafeJson({ a: '\u0000' }, 32, false)).toBeNull();
  });
});
