// <notify-inbox>: a bell with the unread count that opens the user's inbox, live. Importing this file defines the element.
import { InboxClient } from './inbox-client.js';
import { ItemList } from './item-list.js';
import { STYLES } from './styles.js';
import type { InboxItem, StreamState, TokenProvider } from './types.js';

const PAGE_SIZE = 20;
type View = 'inbox' | 'archive';
type Action = 'read' | 'unread' | 'archive' | 'unarchive';

const BELL_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>';

let sheet: CSSStyleSheet | undefined;

/** An element with attributes and children; text children are set as text, never parsed as HTML. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** Only http(s) links are followed (the API keeps no other kind; this keeps a script URL out of an href whatever the source). */
function safeHref(link: string | null): string | null {
  if (!link) return null;
  try {
    const url = new URL(link, document.baseURI);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * `<notify-inbox api-url="https://notify.example.com" user-id="123" token="...">`.
 * Set the `tokenProvider` property to a function returning a fresh token,
 * and the element renews it before it expires.
 */
export class NotifyInbox extends HTMLElement {
  static readonly observedAttributes = ['api-url', 'user-id', 'token'];

  private readonly bell: HTMLButtonElement;
  private readonly badge: HTMLSpanElement;
  /** Announces the count to screen readers as it changes; the badge itself is only seen. */
  private readonly announcer: HTMLSpanElement;
  private readonly panel: HTMLElement;
  private readonly state: HTMLSpanElement;
  private readonly status: HTMLParagraphElement;
  private readonly archiveToggle: HTMLButtonElement;
  private readonly readAll: HTMLButtonElement;
  private readonly ul: HTMLUListElement;
  private readonly empty: HTMLParagraphElement;
  private readonly more: HTMLButtonElement;

  private provider: TokenProvider | undefined;
  private client: InboxClient | null = null;
  private unsubscribe: (() => void) | null = null;
  private list = new ItemList();
  private view: View = 'inbox';
  private unread = 0;
  /** Whether the stream was live before: going live again is a reconnect, after which the first page is read again. */
  private wasLive = false;
  private restartQueued = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
    }
    // A constructed sheet, not a <style>: a page's CSP without 'unsafe-inline' styles still lets it in.
    root.adoptedStyleSheets = [sheet];

    this.badge = h('span', { class: 'badge', 'aria-hidden': 'true' });
    this.announcer = h('span', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.bell = h('button', { type: 'button', class: 'bell', 'aria-label': 'Notifications', 'aria-expanded': 'false', 'aria-controls': 'panel' }, this.badge);
    this.bell.insertAdjacentHTML('beforeend', BELL_ICON);
    this.state = h('span', { class: 'state' });
    this.archiveToggle = h('button', { type: 'button', class: 'link-button show-archived', 'aria-pressed': 'false' }, 'Archived');
    this.readAll = h('button', { type: 'button', class: 'link-button read-all' }, 'Mark all read');
    this.status = h('p', { class: 'status', role: 'status' });
    this.ul = h('ul', { 'aria-label': 'Notifications' });
    this.empty = h('p', { class: 'empty' }, 'Nothing here');
    this.more = h('button', { type: 'button', class: 'more', hidden: '' }, 'Load more');
    const heading = h('h2', { id: 'heading' }, 'Notifications');
    this.panel = h(
      'section',
      { id: 'panel', class: 'panel', hidden: '', 'aria-labelledby': 'heading' },
      h('header', {}, heading, this.state, this.archiveToggle, this.readAll),
      this.status,
      this.ul,
      this.empty,
      this.more,
    );
    root.append(this.bell, this.announcer, this.panel);

    this.bell.addEventListener('click', () => this.toggle());
    this.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.toggle(false);
        this.bell.focus();
      }
    });
    this.archiveToggle.addEventListener('click', () => void this.show(this.view === 'inbox' ? 'archive' : 'inbox'));
    this.readAll.addEventListener('click', () => void this.markAllRead());
    this.more.addEventListener('click', () => void this.loadPage());
    this.ul.addEventListener('click', (e) => this.onListClick(e));
  }

  /** Returns a fresh user token; the element calls it before the current one expires and when the API answers 401. */
  get tokenProvider(): TokenProvider | undefined {
    return this.provider;
  }

  set tokenProvider(provider: TokenProvider | undefined) {
    this.provider = provider;
    this.queueRestart();
  }

  /** The number on the badge. */
  get unreadCount(): number {
    return this.unread;
  }

  connectedCallback(): void {
    this.queueRestart();
  }

  disconnectedCallback(): void {
    this.stop();
  }

  attributeChangedCallback(): void {
    this.queueRestart();
  }

  /** Several attributes set in a row restart once. */
  private queueRestart(): void {
    if (this.restartQueued) return;
    this.restartQueued = true;
    queueMicrotask(() => {
      this.restartQueued = false;
      if (this.isConnected) void this.start();
    });
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.client?.close();
    this.client = null;
  }

  private async start(): Promise<void> {
    this.stop();
    this.wasLive = false;
    this.view = 'inbox';
    this.archiveToggle.setAttribute('aria-pressed', 'false');
    this.resetList();
    this.setUnread(0);
    const userId = this.getAttribute('user-id');
    const token = this.getAttribute('token');
    if (!userId || !token) {
      this.setStatus('Set the user-id and token attributes.');
      return;
    }
    const client = new InboxClient({ apiUrl: this.getAttribute('api-url') ?? '', userId, token, getToken: this.provider });
    this.client = client;
    this.setStatus('');
    if (!(await this.loadPage()) || this.client !== client) return;
    // Resume after the newest item listed: what arrived since the page was read comes first, and nothing twice.
    this.unsubscribe = client.subscribe(
      (item) => this.onLiveItem(item),
      (state) => this.onState(state),
      { lastEventId: this.list.newestId },
    );
  }

  private toggle(open = this.panel.hidden): void {
    this.panel.hidden = !open;
    this.bell.setAttribute('aria-expanded', String(open));
  }

  private resetList(): void {
    this.list = new ItemList();
    this.ul.replaceChildren();
    this.renderList();
  }

  /** The next page of the current view (the first after a reset); false when it failed. */
  private async loadPage(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    const list = this.list;
    try {
      const page = await client.list({ limit: PAGE_SIZE, archived: this.view === 'archive', cursor: list.nextCursor ?? undefined });
      if (client !== this.client || list !== this.list) return false;
      list.addPage(page);
      this.setUnread(page.unread_count);
      this.renderList();
      return true;
    } catch (err) {
      this.setStatus(`Cannot load notifications: ${message(err)}`);
      return false;
    }
  }

  /**
   * After a reconnect, the newest page again: a stream the client had to
   * reopen (a renewed token) cannot send Last-Event-ID, and a resume replays
   * at most 100 items. Items already shown stay as they are.
   */
  private async catchUp(): Promise<void> {
    const client = this.client;
    if (!client || this.view !== 'inbox') return;
    const list = this.list;
    try {
      const page = await client.list({ limit: PAGE_SIZE });
      if (client !== this.client || list !== this.list) return;
      for (const item of page.data) list.add(item);
      this.setUnread(page.unread_count);
      this.renderList();
    } catch {
      // The next reconnect tries again; the live stream goes on meanwhile.
    }
  }

  private async show(view: View): Promise<void> {
    this.view = view;
    this.archiveToggle.setAttribute('aria-pressed', String(view === 'archive'));
    this.resetList();
    await this.loadPage();
  }

  private onLiveItem(item: InboxItem): void {
    if (this.view === 'inbox' && !this.list.add(item)) return;
    if (!item.read_at) this.setUnread(this.unread + 1);
    this.renderList();
  }

  private onState(state: StreamState): void {
    this.state.textContent = state.status === 'live' ? 'live' : state.status === 'stopped' ? 'offline' : 'connecting…';
    this.setAttribute('data-state', state.status);
    if (state.status === 'live') {
      this.setUnread(state.unreadCount);
      if (this.wasLive) void this.catchUp();
      this.wasLive = true;
    }
    if (state.status === 'stopped') this.setStatus(`Live updates stopped: ${state.reason}`);
  }

  private onListClick(e: Event): void {
    const target = e.target as Element;
    const li = target.closest<HTMLLIElement>('li[data-id]');
    const id = li?.dataset.id;
    if (!id) return;
    const button = target.closest<HTMLButtonElement>('button[data-action]');
    if (button) void this.act(id, button.dataset.action as Action);
    // Following an item's link reads it.
    else if (target.closest('a') && !this.list.get(id)?.read_at) void this.act(id, 'read');
  }

  private async act(id: string, action: Action): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      const calls = { read: client.markRead, unread: client.markUnread, archive: client.archive, unarchive: client.unarchive } as const;
      const item = await calls[action].call(client, id);
      // Archiving moves an item out of the view; reading changes it in place.
      if (action === 'archive' || action === 'unarchive') this.list.remove(id);
      else this.list.update(item);
      this.renderList();
      this.setUnread(await client.unreadCount());
      this.setStatus('');
    } catch (err) {
      this.setStatus(`Cannot update the notification: ${message(err)}`);
    }
  }

  private async markAllRead(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      const { unread_count } = await client.markAllRead();
      const now = new Date().toISOString();
      for (const item of this.list.items) if (!item.read_at) this.list.update({ ...item, read_at: now });
      this.renderList();
      this.setUnread(unread_count);
      this.setStatus('');
    } catch (err) {
      this.setStatus(`Cannot mark all read: ${message(err)}`);
    }
  }

  private setUnread(count: number): void {
    this.unread = Math.max(0, count);
    const shown = this.unread === 0 ? '' : String(this.unread);
    // An empty badge is hidden by CSS; the live region says the same in words.
    if (this.badge.textContent !== shown) {
      this.badge.textContent = shown;
      this.announcer.textContent = `${this.unread} unread`;
    }
    this.bell.setAttribute('aria-label', shown ? `Notifications, ${shown} unread` : 'Notifications');
    this.dispatchEvent(new CustomEvent('unreadchange', { detail: { unreadCount: this.unread } }));
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
  }

  /**
   * Brings the list's elements in line with the items, newest first,
   * inserting and removing only what changed so focus stays where it was.
   */
  private renderList(): void {
    const items = this.list.items;
    const wanted = new Set(items.map((i) => i.id));
    for (const li of [...this.ul.children] as HTMLLIElement[]) if (!wanted.has(li.dataset.id ?? '')) li.remove();
    const existing = new Map(([...this.ul.children] as HTMLLIElement[]).map((li) => [li.dataset.id, li]));
    items.forEach((item, index) => {
      const li = existing.get(item.id) ?? itemElement(item);
      updateItemElement(li, item);
      const at = this.ul.children[index];
      if (at !== li) this.ul.insertBefore(li, at ?? null);
    });
    this.empty.hidden = items.length > 0;
    this.more.hidden = !this.list.hasMore;
    this.readAll.hidden = this.view === 'archive';
  }
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** An item's element; its read and archived state is filled in by updateItemElement. */
function itemElement(item: InboxItem): HTMLLIElement {
  const titleId = `title-${item.id}`;
  const text = item.title ?? item.body;
  const href = safeHref(item.link);
  const title = href ? h('a', { class: 'title', id: titleId, href }, text) : h('span', { class: 'title', id: titleId }, text);
  const content = h('div', { class: 'content' }, h('span', { class: 'sr-only read-state' }), title);
  if (item.title !== null && item.body) content.append(h('p', { class: 'body' }, item.body));
  content.append(h('time', { datetime: item.created_at }, timeFormat.format(new Date(item.created_at))));
  const button = (cls: string) => h('button', { type: 'button', class: `link-button ${cls}`, 'aria-describedby': titleId });
  return h('li', { 'data-id': item.id }, content, h('div', { class: 'actions' }, button('toggle-read'), button('toggle-archive')));
}

function updateItemElement(li: HTMLLIElement, item: InboxItem): void {
  const read = item.read_at !== null;
  const archived = item.archived_at !== null;
  li.classList.toggle('unread', !read);
  li.querySelector('.read-state')!.textContent = read ? '' : 'Unread: ';
  const toggleRead = li.querySelector<HTMLButtonElement>('.toggle-read')!;
  toggleRead.dataset.action = read ? 'unread' : 'read';
  toggleRead.textContent = read ? 'Mark unread' : 'Mark read';
  const toggleArchive = li.querySelector<HTMLButtonElement>('.toggle-archive')!;
  toggleArchive.dataset.action = archived ? 'unarchive' : 'archive';
  toggleArchive.textContent = archived ? 'Unarchive' : 'Archive';
}

if (!customElements.get('notify-inbox')) customElements.define('notify-inbox', NotifyInbox);

declare global {
  interface HTMLElementTagNameMap {
    'notify-inbox': NotifyInbox;
  }
}
