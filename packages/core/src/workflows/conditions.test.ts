import { describe, expect, it } from 'vitest';
import { compare, valueAt } from './conditions.js';

describe('valueAt', () => {
  it('follows a dot path, undefined when a part is missing or not an object', () => {
    const data = { post: { id: 42, tags: ['a'] }, n: null };
    expect(valueAt(data, 'post.id')).toBe(42);
    expect(valueAt(data, 'post.missing')).toBeUndefined();
    expect(valueAt(data, 'post.tags.0')).toBeUndefined();
    expect(valueAt(data, 'n.x')).toBeUndefined();
  });
});

describe('compare', () => {
  it('eq / neq are strict; a missing field equals null', () => {
    expect(compare('high', 'eq', 'high')).toBe(true);
    expect(compare(1, 'eq', '1')).toBe(false);
    expect(compare(undefined, 'eq', null)).toBe(true);
    expect(compare('low', 'neq', 'high')).toBe(true);
    expect(compare(undefined, 'neq', null)).toBe(false);
  });

  it('gt / lt compare numbers with numbers and strings with strings, and nothing else', () => {
    expect(compare(5, 'gt', 3)).toBe(true);
    expect(compare(5, 'lt', 3)).toBe(false);
    expect(compare('b', 'gt', 'a')).toBe(true);
    expect(compare('5', 'gt', 3)).toBe(false);
    expect(compare(undefined, 'lt', 3)).toBe(false);
  });

  it('exists / not_exists: null counts as absent', () => {
    expect(compare(0, 'exists', undefined)).toBe(true);
    expect(compare(null, 'exists', undefined)).toBe(false);
    expect(compare(undefined, 'not_exists', undefined)).toBe(true);
  });
});
