import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { ADMIN_PASSWORD, startApi, startWorker, stopAll, type ApiService, type Service } from './processes.js';

/**
 * The <notify-inbox> component (packages/inbox) in a real browser (headless
 * Chromium) on the demo page of the built API, with a worker delivering
 * in_app notifications to the inbox. The page is served from another origin
 * than the API it talks to (`notify.test`, mapped to 127.0.0.1 inside
 * Chromium), as on a customer's site: its calls go through the app's CORS
 * origins and a user token, never an API key.
 */
const HOST = 'notify.test';
const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts');
let t: TestEnv;
let api: ApiService;
let worker: Service;
let browser: Browser;
/** Where the page comes from; the API is called at api.url, another origin. */
let pageOrigin: string;

interface Item {
  id: string;
  title: string | null;
  read_at: string | null;
  archived_at: string | null;
  created_at: string;
}
interface InboxPage {
  data: Item[];
  unread_count: number;
}

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
  worker = await startWorker(t, ['in_app']);
  pageOrigin = api.url.replace('127.0.0.1', HOST);
  expect((await api.call('PUT', '/app/cors', { allowed_origins: [pageOrigin] })).status).toBe(200);
  browser = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
  // Two processes and a browser: on a machine busy with the other test tiers this takes more than a minute.
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM')]);
  // Whatever a failed test left running (the restart test's second replica).
  await stopAll();
  await t?.close();
});

async function mintToken(userId: string): Promise<string> {
  const res = await api.call('POST', `/users/${userId}/tokens`);
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** The server's view of a user's inbox, through the API key. */
async function serverInbox(userId: string, query = ''): Promise<InboxPage> {
  return (await (await api.call('GET', `/users/${userId}/inbox${query}`)).json()) as InboxPage;
}

async function send(userId: string, subject: string, data?: Record<string, unknown>): Promise<void> {
  const res = await api.call('POST', '/notifications', { user_id: userId, subject, message: `${subject}: body`, channels: ['in_app'], ...(data ? { data } : {}) });
  expect(res.status).toBe(202);
}

interface Opened {
  context: BrowserContext;
  page: Page;
  url: string;
  /** Console errors and failed loads other than the API's own refusals. */
  errors: string[];
}

/** The demo page connected as `userId` with `token` (in the #fragment, as the demo takes it), calling the API cross-origin. */
async function openInbox(userId: string, token: string): Promise<Opened> {
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_PASSWORD } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = `${pageOrigin}/inbox-demo#${new URLSearchParams({ user_id: userId, token, api_url: api.url })}`;
  await page.goto(url);
  return { context, page, url, errors };
}

const items = (page: Page) => page.locator('notify-inbox li[data-id]');
const badge = (page: Page) => page.locator('notify-inbox .badge');
const ids = (page: Page) => items(page).evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id')!));
const live = (page: Page) => page.locator('notify-inbox[data-state="live"]').waitFor({ timeout: 20_000 });

describe('<notify-inbox> in Chromium', () => {
  const user = 'inbox-e2e-a';
  let token: string;
  let opened: Opened;

  beforeAll(async () => {
    token = await mintToken(user);
    opened = await openInbox(user, token);
    await live(opened.page);
  }, 60_000);
  afterAll(() => opened?.context.close());

  it('shows a notification sent through the API live, with the badge counting', async () => {
    const { page } = opened;
    await page.locator('notify-inbox .bell').click();
    await expect.poll(() => page.locator('notify-inbox .bell').getAttribute('aria-expanded')).toBe('true');
    await page.locator('notify-inbox .empty').getByText('Nothing here').waitFor();
    expect(await badge(page).textContent()).toBe('');

    await send(user, 'Order shipped', { link: 'https://shop.example.com/orders/1' });
    await expect.poll(() => items(page).count(), { timeout: 20_000 }).toBe(1);
    expect(await badge(page).textContent()).toBe('1');
    await send(user, 'Invoice ready');
    await expect.poll(() => items(page).count(), { timeout: 20_000 }).toBe(2);
    expect(await badge(page).textContent()).toBe('2');
    // For screen readers: the bell's name says it, a live region announces it.
    expect(await page.getByRole('button', { name: 'Notifications, 2 unread' }).count()).toBe(1);
    expect(await page.locator('notify-inbox [aria-live="polite"]').textContent()).toBe('2 unread');

    // Newest first, as the server lists them; the link is an anchor, the item without one is text.
    const server = await serverInbox(user);
    expect(await ids(page)).toEqual(server.data.map((i) => i.id));
    const [invoice, order] = server.data;
    expect(invoice!.title).toBe('Invoice ready');
    const orderItem = page.locator(`notify-inbox li[data-id="${order!.id}"]`);
    expect(await orderItem.locator('a.title').getAttribute('href')).toBe('https://shop.example.com/orders/1');
    expect(await orderItem.locator('.body').textContent()).toBe('Order shipped: body');
    expect(await page.locator(`notify-inbox li[data-id="${invoice!.id}"] a`).count()).toBe(0);
    // One page holds them all.
    expect(await page.locator('notify-inbox .more').isVisible()).toBe(false);
    expect(await orderItem.getAttribute('class')).toContain('unread');
    expect(await orderItem.locator('time').getAttribute('datetime')).toBe(order!.created_at);
    // The component's constructed stylesheet applies under the page's CSP (no inline styles allowed).
    expect(await page.evaluate("getComputedStyle(document.querySelector('notify-inbox').shadowRoot.querySelector('.panel')).position")).toBe('absolute');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'inbox-component.png') });
  }, 60_000);

  it('marks read and unread, archives and marks all read on the server', async () => {
    const { page } = opened;
    const [first, second] = (await serverInbox(user)).data;
    const row = page.locator(`notify-inbox li[data-id="${first!.id}"]`);

    await row.getByRole('button', { name: 'Mark read' }).click();
    await expect.poll(async () => (await serverItem(user, first!.id)).read_at, { timeout: 10_000 }).not.toBeNull();
    await expect.poll(() => badge(page).textContent()).toBe('1');
    expect(await row.getAttribute('class')).not.toContain('unread');

    await row.getByRole('button', { name: 'Mark unread' }).click();
    await expect.poll(async () => (await serverItem(user, first!.id)).read_at, { timeout: 10_000 }).toBeNull();
    await expect.poll(() => badge(page).textContent()).toBe('2');

    // Archived: gone from the inbox and its count, in the archive on the server.
    await page.locator(`notify-inbox li[data-id="${second!.id}"]`).getByRole('button', { name: 'Archive' }).click();
    await expect.poll(() => ids(page)).toEqual([first!.id]);
    await expect.poll(() => badge(page).textContent()).toBe('1');
    expect((await serverInbox(user, '?archived=true')).data.map((i) => i.id)).toEqual([second!.id]);
    expect((await serverInbox(user)).unread_count).toBe(1);

    // The archive view, and back.
    await page.locator('notify-inbox .show-archived').click();
    await expect.poll(() => ids(page)).toEqual([second!.id]);
    await page.locator(`notify-inbox li[data-id="${second!.id}"]`).getByRole('button', { name: 'Unarchive' }).click();
    await expect.poll(() => ids(page)).toEqual([]);
    await expect.poll(() => badge(page).textContent()).toBe('2');
    await page.locator('notify-inbox .show-archived').click();
    await expect.poll(() => ids(page)).toEqual([first!.id, second!.id].sort().reverse());

    await page.locator('notify-inbox .read-all').click();
    await expect.poll(async () => (await serverInbox(user)).unread_count, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => badge(page).textContent()).toBe('');
    expect(await page.locator('notify-inbox li.unread').count()).toBe(0);
  }, 60_000);

  it('after a reload, shows each item once, including what arrived while away, and stays live', async () => {
    const { page } = opened;
    await page.goto('about:blank');
    await send(user, 'While away');
    await expect.poll(async () => (await serverInbox(user)).data.length, { timeout: 20_000 }).toBe(3);
    await page.goto(opened.url);
    await live(page);
    const server = await serverInbox(user);
    await page.locator('notify-inbox .bell').click();
    await expect.poll(() => ids(page)).toEqual(server.data.map((i) => i.id));
    expect(await badge(page).textContent()).toBe('1');
    await page.reload();
    await live(page);
    await page.locator('notify-inbox .bell').click();
    await expect.poll(() => ids(page)).toEqual(server.data.map((i) => i.id));

    await send(user, 'After the reload');
    await expect.poll(() => items(page).count(), { timeout: 20_000 }).toBe(4);
    const shown = await ids(page);
    expect(new Set(shown).size).toBe(4);
    expect(shown).toEqual((await serverInbox(user)).data.map((i) => i.id));
    expect(await badge(page).textContent()).toBe('2');
    expect(opened.errors).toEqual([]);
  }, 60_000);

  it("another user's token sees nothing of this inbox, and the API refuses it", async () => {
    const other = await mintToken('inbox-e2e-b');
    const b = await openInbox('inbox-e2e-b', other);
    await live(b.page);
    await send(user, 'Only for A');
    await expect.poll(async () => (await serverInbox(user)).data.length, { timeout: 20_000 }).toBe(5);
    await b.page.locator('notify-inbox .bell').click();
    expect(await items(b.page).count()).toBe(0);
    expect(await badge(b.page).textContent()).toBe('');

    // B's token on A's routes: refused (403), with no CORS headers, so B's page cannot even read the refusal.
    const fromBrowser = await b.page.evaluate(
      ({ apiUrl, userId, token }) => {
        const outcome = (r: Promise<{ status: number }>) =>
          r.then(
            (res) => `answered ${res.status}`,
            () => 'unreadable',
          );
        return Promise.all([
          outcome(fetch(`${apiUrl}/users/${userId}/inbox`, { headers: { authorization: `Bearer ${token}` } })),
          outcome(fetch(`${apiUrl}/users/${userId}/inbox/stream?token=${encodeURIComponent(token)}`)),
        ]);
      },
      { apiUrl: api.url, userId: user, token: other },
    );
    expect(fromBrowser).toEqual(['unreadable', 'unreadable']);
    const asB = (path: string) => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${other}`, origin: pageOrigin } });
    for (const path of [`/users/${user}/inbox`, `/users/${user}/inbox/unread_count`, `/users/${user}/inbox/stream?token=${other}`]) {
      const res = await asB(path);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    await b.context.close();

    // A page claiming to be A with B's token: an error, no items.
    const tampered = await openInbox(user, other);
    await tampered.page.locator('notify-inbox .bell').click();
    await tampered.page
      .locator('notify-inbox .status')
      .getByText(/Cannot load notifications/)
      .waitFor({ timeout: 20_000 });
    expect(await items(tampered.page).count()).toBe(0);
    await tampered.context.close();
  }, 60_000);

  it('renews a refused token through tokenProvider and retries', async () => {
    const c = await openInbox(user, 'not-a-valid-token');
    const { page } = c;
    await page.locator('notify-inbox .bell').click();
    await page
      .locator('notify-inbox .status')
      .getByText(/Cannot load notifications/)
      .waitFor({ timeout: 20_000 });
    let minted = 0;
    await page.exposeFunction('mintToken', async () => {
      minted++;
      return mintToken(user);
    });
    // Set as an app's page would, with a token that has expired meanwhile.
    await page.evaluate("document.querySelector('notify-inbox').tokenProvider = () => window.mintToken()");
    await live(page);
    await page.locator('notify-inbox .bell').click();
    await expect.poll(() => items(page).count()).toBe(5);
    expect(minted).toBe(1);
    await c.context.close();
  }, 60_000);

  it('resumes after the API restarts, with what was sent while it was down, each item once', async () => {
    const { page } = opened;
    await live(page);
    // A second replica takes the send while the first is down.
    const replica = await startApi(t);
    const port = new URL(api.url).port;
    await api.stop('SIGTERM');
    await expect.poll(() => page.locator('notify-inbox').getAttribute('data-state'), { timeout: 20_000 }).not.toBe('live');
    expect((await replica.call('POST', '/notifications', { user_id: user, subject: 'While the API was down', message: 'm', channels: ['in_app'] })).status).toBe(202);
    await expect.poll(async () => ((await (await replica.call('GET', `/users/${user}/inbox`)).json()) as InboxPage).data.length, { timeout: 20_000 }).toBe(6);
    api = await startApi(t, { PORT: port });
    await page.locator('notify-inbox[data-state="live"]').waitFor({ timeout: 45_000 });
    const server = await serverInbox(user);
    await expect.poll(() => ids(page), { timeout: 10_000 }).toEqual(server.data.map((i) => i.id));
    expect(server.data[0]!.title).toBe('While the API was down');
    await replica.stop('SIGTERM');
  }, 90_000);
});

describe('the demo page and the component scripts', () => {
  it('the page needs the admin credentials; the scripts are public, loadable as modules from any site', async () => {
    expect((await fetch(`${api.url}/inbox-demo`)).status).toBe(401);
    expect((await fetch(`${api.url}/inbox-demo/assets/demo.js`)).status).toBe(401);
    const script = await fetch(`${api.url}/inbox-client/notify-inbox.js`, { headers: { origin: 'https://shop.example.com' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
    expect(await script.text()).toContain("customElements.define('notify-inbox'");
    // Only the built modules: not the type declarations beside them, nor anything above.
    for (const p of ['/inbox-client/notify-inbox.d.ts', '/inbox-client/..%2Fpackage.json']) expect((await fetch(`${api.url}${p}`)).status).toBe(404);
  });
});

/** One item as the server has it, in the inbox or the archive. */
async function serverItem(userId: string, id: string): Promise<Item> {
  const [inboxPage, archive] = await Promise.all([serverInbox(userId), serverInbox(userId, '?archived=true')]);
  const found = [...inboxPage.data, ...archive.data].find((i) => i.id === id);
  if (!found) throw new Error(`item ${id} not found`);
  return found;
}
