import type { InboxItem, InboxPage } from './types.js';

/**
 * The items a view shows, newest first, and where its next page starts.
 * Keyed by id, since a page and the live stream may both bring an item.
 * Ids are UUIDv7, time-ordered, as the API's own "newest first" is.
 */
export class ItemList {
  private readonly byId = new Map<string, InboxItem>();
  /** The cursor of the next page; null once the last page is in. */
  nextCursor: string | null = null;

  /** Adds a page fetched with `cursor: nextCursor` (or the first one), and moves the cursor on. */
  addPage(page: InboxPage): void {
    for (const item of page.data) this.byId.set(item.id, item);
    this.nextCursor = page.next_cursor;
  }

  /** Adds a live item; false when it is there already. */
  add(item: InboxItem): boolean {
    if (this.byId.has(item.id)) return false;
    this.byId.set(item.id, item);
    return true;
  }

  /** Replaces an item with its new state (after an action); unknown ids are ignored. */
  update(item: InboxItem): void {
    if (this.byId.has(item.id)) this.byId.set(item.id, item);
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  get(id: string): InboxItem | undefined {
    return this.byId.get(id);
  }

  get items(): InboxItem[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** The newest item's id: where a stream opened after the first page resumes. */
  get newestId(): string | undefined {
    return this.items[0]?.id;
  }

  get hasMore(): boolean {
    return this.nextCursor !== null;
  }
}
