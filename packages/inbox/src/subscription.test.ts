import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FatalStreamError, InboxSubscription, reopenDelay, type SubscriptionDeps } from './subscription.js';
import { FakeEventSource } from './testing/fake-event-source.js';
import type { InboxItem, StreamState } from './types.js';

const item = (id: string) => ({ id, title: id }) as InboxItem;

function subscribe(check: SubscriptionDeps['check'] = async () => {}, lastEventId?: string) {
  const items: string[] = [];
  const states: StreamState[] = [];
  const subscription = new InboxSubscription(
    {
      url: (last) => `/stream?token=t${last ? `&last_event_id=${last}` : ''}`,
      check,
      onItem: (i) => items.push(i.id),
      onState: (s) => states.push(s),
      EventSource: FakeEventSource as unknown as typeof EventSource,
    },
    lastEventId,
  );
  return { subscription, items, states };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.opened = [];
});
afterEach(() => vi.useRealTimers());

describe('reopenDelay', () => {
  it('doubles from about a second up to 30 s, with jitter between half and all of it', () => {
    expect([1, 2, 3, 6, 7, 12].map((n) => reopenDelay(n, 1))).toEqual([1_000, 2_000, 4_000, 30_000, 30_000, 30_000]);
    expect(reopenDelay(1, 0)).toBe(500);
    expect(reopenDelay(6, 0)).toBe(15_000);
  });
});

describe('InboxSubscription', () => {
  it('opens the stream resuming after the given item, and goes live with the server count', () => {
    const { states } = subscribe(undefined, 'i9');
    expect(FakeEventSource.last.url).toBe('/stream?token=t&last_event_id=i9');
    FakeEventSource.last.emit('ready', { unread_count: 4 });
    expect(states).toEqual([{ status: 'connecting' }, { status: 'live', unreadCount: 4 }]);
  });

  it('leaves a dropped connection to the browser, which resumes it with Last-Event-ID itself', async () => {
    const { states } = subscribe();
    FakeEventSource.last.fail(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeEventSource.opened).toHaveLength(1);
    expect(states.at(-1)).toEqual({ status: 'reconnecting' });
  });

  it('reopens a refused stream after checking the token, resuming after the last item, with no item twice', async () => {
    const check = vi.fn(async () => {});
    const { items, states } = subscribe(check);
    const first = FakeEventSource.last;
    first.emit('item', item('a'), 'a');
    first.emit('item', item('b'), 'b');
    first.fail(2);
    expect(first.readyState).toBe(2);
    expect(check).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check).toHaveBeenCalledTimes(1);
    expect(FakeEventSource.opened).toHaveLength(2);
    const second = FakeEventSource.last;
    expect(second.url).toBe('/stream?token=t&last_event_id=b');
    // The server replays from an older point than we have seen: each item still comes once.
    second.emit('item', item('b'), 'b');
    second.emit('item', item('c'), 'c');
    second.emit('ready', { unread_count: 3 });
    expect(items).toEqual(['a', 'b', 'c']);
    expect(states).toContainEqual({ status: 'reconnecting' });
    expect(states.at(-1)).toEqual({ status: 'live', unreadCount: 3 });
  });

  it('keeps trying while the server is unreachable, backing off, and starts over once live', async () => {
    const check = vi.fn<() => Promise<void>>().mockRejectedValueOnce(new TypeError('Failed to fetch')).mockRejectedValueOnce(new TypeError('Failed to fetch')).mockResolvedValue();
    subscribe(check);
    FakeEventSource.last.fail(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(check).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(check).toHaveBeenCalledTimes(3);
    expect(FakeEventSource.opened).toHaveLength(2);
    FakeEventSource.last.emit('ready', { unread_count: 0 });
    FakeEventSource.last.fail(2);
    // Live again: the next failure waits about a second, not 8.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(check).toHaveBeenCalledTimes(4);
  });

  it('stops when the token is refused for good', async () => {
    const { states } = subscribe(async () => {
      throw new FatalStreamError('Token expired');
    });
    FakeEventSource.last.fail(2);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeEventSource.opened).toHaveLength(1);
    expect(states.at(-1)).toEqual({ status: 'stopped', reason: 'Token expired' });
  });

  it('closes its connection and reopens nothing after close()', async () => {
    const check = vi.fn(async () => {});
    const { subscription } = subscribe(check);
    const source = FakeEventSource.last;
    subscription.close();
    expect(source.readyState).toBe(2);
    source.fail(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(check).not.toHaveBeenCalled();
    expect(FakeEventSource.opened).toHaveLength(1);
  });

  it('cancels a pending reopen on close()', async () => {
    const check = vi.fn(async () => {});
    const { subscription } = subscribe(check);
    FakeEventSource.last.fail(2);
    subscription.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(check).not.toHaveBeenCalled();
  });

  it('ignores an item event whose data is not an item', () => {
    const { items } = subscribe();
    FakeEventSource.last.emit('item', 'not json');
    FakeEventSource.last.emit('item', { title: 'no id' });
    expect(items).toEqual([]);
  });
});
