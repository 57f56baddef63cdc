import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

/** A run function that records its groups and answers when released. */
function recorder() {
  const groups: number[][] = [];
  const gates: Array<() => void> = [];
  const run = async (items: number[]) => {
    groups.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (items.includes(13)) throw new Error('unlucky');
    return items.map((i) => i * 10);
  };
  /** Lets every run finish, including the runs that finishing ones start. */
  const releaseAll = async () => {
    for (let turn = 0; turn < 10; turn++) {
      while (gates.length > 0) gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { groups, run, releaseAll };
}

describe('GroupCommit', () => {
  it('coalesces items submitted together into one run and answers each caller its own result', async () => {
    const r = recorder();
    const b = new GroupCommit(r.run, { maxGroup: 100, maxInFlight: 1 });
    const answers = Promise.all([1, 2, 3].map((i) => b.submit(i)));
    await new Promise((res) => setImmediate(res));
    await r.releaseAll();
    expect(await answers).toEqual([10, 20, 30]);
    expect(r.groups).toEqual([[1, 2, 3]]);
  });

  it('gathers what arrives while every run is busy into the next group, up to maxGroup', async () => {
    const r = recorder();
    const b = new GroupCommit(r.run, { maxGroup: 3, maxInFlight: 1 });
    const first = b.submit(1);
    await new Promise((res) => setImmediate(res));
    const later = [2, 3, 4, 5].map((i) => b.submit(i));
    await new Promise((res) => setImmediate(res));
    expect(r.groups).toEqual([[1]]);
    await r.releaseAll();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 40, 50]);
    expect(r.groups).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('runs up to maxInFlight groups at once', async () => {
    const r = recorder();
    const b = new GroupCommit(r.run, { maxGroup: 2, maxInFlight: 2 });
    const answers = Promise.all([1, 2, 3, 4, 5].map((i) => b.submit(i)));
    await new Promise((res) => setImmediate(res));
    expect(r.groups).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await r.releaseAll();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
  });

  it('retries a failed group item by item when told to, failing only the bad item', async () => {
    const r = recorder();
    const b = new GroupCommit(r.run, { maxGroup: 10, maxInFlight: 1, splitOnError: () => true });
    const answers = [12, 13, 14].map((i) => b.submit(i).catch((err: Error) => err.message));
    await r.releaseAll();
    expect(await Promise.all(answers)).toEqual([120, 'unlucky', 140]);
    expect(r.groups).toEqual([[12, 13, 14], [12], [13], [14]]);
  });

  it('fails every caller of a failed group when the failure is shared', async () => {
    const r = recorder();
    const b = new GroupCommit(r.run, { maxGroup: 10, maxInFlight: 1, splitOnError: () => false });
    const answers = [12, 13].map((i) => b.submit(i).catch((err: Error) => err.message));
    await r.releaseAll();
    expect(await Promise.all(answers)).toEqual(['unlucky', 'unlucky']);
    expect(r.groups).toHaveLength(1);
  });

  it('refuses a run that answers the wrong number of results', async () => {
    const b = new GroupCommit(async (items: number[]) => items.slice(1), { maxGroup: 10, maxInFlight: 1 });
    await expect(Promise.all([b.submit(1), b.submit(2)])).rejects.toThrow(/group of 2 answered 1/);
  });
});
