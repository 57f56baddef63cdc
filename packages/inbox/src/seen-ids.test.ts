import { describe, expect, it } from 'vitest';
import { SeenIds } from './seen-ids.js';

describe('SeenIds', () => {
  it('tells a new id from one seen before', () => {
    const seen = new SeenIds();
    expect(['a', 'b', 'a', 'c', 'b'].map((id) => seen.add(id))).toEqual([true, true, false, true, false]);
  });

  it('forgets the oldest ids past its capacity, and only those', () => {
    const seen = new SeenIds(3);
    for (const id of ['a', 'b', 'c', 'd']) seen.add(id);
    expect(seen.add('d')).toBe(false);
    expect(seen.add('b')).toBe(false);
    expect(seen.add('a')).toBe(true);
  });
});
