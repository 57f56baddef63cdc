import { describe, expect, it } from 'vitest';
import { ItemList } from './item-list.js';
import type { InboxItem } from './types.js';

// UUIDv7-like ids: later ones sort higher, as the API's do.
const item = (n: number, over: Partial<InboxItem> = {}): InboxItem => ({
  id: `0190${String(n).padStart(4, '0')}-0000-7000-8000-000000000000`,
  notification_id: `n${n}`,
  title: `Title ${n}`,
  body: `Body ${n}`,
  data: null,
  link: null,
  sender_id: null,
  read_at: null,
  archived_at: null,
  created_at: new Date(n * 1000).toISOString(),
  ...over,
});
const ids = (list: ItemList) => list.items.map((i) => i.notification_id);

describe('ItemList', () => {
  it('follows the cursor page after page, newest first', () => {
    const list = new ItemList();
    expect(list.hasMore).toBe(false);
    list.addPage({ data: [item(5), item(4)], unread_count: 5, next_cursor: 'c1' });
    expect(list.nextCursor).toBe('c1');
    expect(list.hasMore).toBe(true);
    list.addPage({ data: [item(3), item(2)], unread_count: 5, next_cursor: null });
    expect(list.hasMore).toBe(false);
    expect(ids(list)).toEqual(['n5', 'n4', 'n3', 'n2']);
  });

  it('keeps one copy of an item that a page and the stream both bring', () => {
    const list = new ItemList();
    list.addPage({ data: [item(2), item(1)], unread_count: 2, next_cursor: null });
    expect(list.add(item(3))).toBe(true);
    expect(list.add(item(3))).toBe(false);
    expect(list.add(item(2))).toBe(false);
    // A page fetched after the item streamed in (the user scrolled) does not double it either.
    list.addPage({ data: [item(3), item(2)], unread_count: 3, next_cursor: null });
    expect(ids(list)).toEqual(['n3', 'n2', 'n1']);
    expect(list.newestId).toBe(item(3).id);
  });

  it('sorts a live item that arrives late into its place', () => {
    const list = new ItemList();
    list.addPage({ data: [item(9), item(7)], unread_count: 2, next_cursor: null });
    list.add(item(8));
    expect(ids(list)).toEqual(['n9', 'n8', 'n7']);
  });

  it('updates known items, ignores unknown ones, and removes', () => {
    const list = new ItemList();
    list.addPage({ data: [item(2), item(1)], unread_count: 2, next_cursor: null });
    list.update(item(1, { read_at: '2026-12-01T00:00:00.000Z' }));
    list.update(item(7, { read_at: '2026-12-01T00:00:00.000Z' }));
    expect(list.get(item(1).id)?.read_at).toBe('2026-12-01T00:00:00.000Z');
    expect(list.get(item(7).id)).toBeUndefined();
    list.remove(item(2).id);
    expect(ids(list)).toEqual(['n1']);
  });

  it('has no newest id while empty (a stream then starts live)', () => {
    expect(new ItemList().newestId).toBeUndefined();
  });
});
