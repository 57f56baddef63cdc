import { createTestEnv, type TestEnv } from '@notify/core/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { ADMIN_PASSWORD, startApi, type ApiService } from './processes.js';

/**
 * The pages the service serves (Bull Board, the dashboard, the inbox demo, the API docs) in a
 * real browser, recording every request they make: each must go to the
 * service itself, none to a font CDN, a validator or any other host. The
 * service is reached by a name that is not localhost (`notify.test`, mapped to
 * 127.0.0.1 inside Chromium), because some UIs skip their outside calls on
 * localhost only, as Swagger UI does with its online validator badge.
 */
const HOST = 'notify.test';
let t: TestEnv;
let api: ApiService;
let browser: Browser;
let origin: string;

/**
 * Swagger UI parses a 1.7 MB bundle and a 220 KB document before it shows
 * anything: 2 s on an idle machine, 15-18 s with the CPU throttled tenfold,
 * which is what CI's parallel tiers on two cores come to. Every wait of a
 * page gets PAGE_WAIT; the assertions are about where requests go, not how fast.
 */
const PAGE_WAIT = 60_000;
const TEST_BUDGET = 120_000;

beforeAll(async () => {
  t = await createTestEnv();
  api = await startApi(t);
  origin = api.url.replace('127.0.0.1', HOST);
  browser = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
});
afterAll(async () => {
  await browser?.close();
  await api?.stop('SIGTERM');
  await t?.close();
});

interface Recorded {
  context: BrowserContext;
  page: Page;
  /** Every request the page made, the service's included. */
  requests: string[];
  /** Requests to any other origin; aborted, so an offline machine behaves the same. */
  outside: string[];
  /** Answers of 400 and above from the service. */
  failed: string[];
  /** Console errors (a refused load, a broken script). */
  errors: string[];
}

async function open(path: string): Promise<Recorded> {
  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_PASSWORD } });
  context.setDefaultTimeout(PAGE_WAIT);
  const r: Recorded = { context, page: await context.newPage(), requests: [], outside: [], failed: [], errors: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    r.requests.push(url);
    if (new URL(url).origin === origin || url.startsWith('data:')) return route.continue();
    r.outside.push(url);
    return route.abort();
  });
  r.page.on('response', (res) => {
    if (res.status() >= 400) r.failed.push(`${res.status()} ${res.url()}`);
  });
  r.page.on('console', (m) => {
    if (m.type() === 'error') r.errors.push(m.text());
  });
  await r.page.goto(`${origin}${path}`, { waitUntil: 'networkidle' });
  return r;
}

/** What is left to check once a page has settled: nothing outside, nothing failed. */
async function settled(r: Recorded) {
  await r.page.waitForLoadState('networkidle');
  await r.context.close();
  return { outside: r.outside, failed: r.failed, errors: r.errors };
}

const clean = { outside: [], failed: [], errors: [] };

describe('every page loads only from the service', { timeout: TEST_BUDGET }, () => {
  it.each(['/admin/queues', '/admin/queues/'])('Bull Board at %s shows the queues, with fonts and scripts from the service only', async (path) => {
    const r = await open(path);
    await r.page.getByText('notify.email').first().waitFor();
    // Open a queue: its view loads more chunks lazily.
    await r.page.getByText('notify.email').first().click();
    await r.page.waitForURL(/\/admin\/queues\/queue\/notify\.email/);
    await r.page
      .getByText(/completed/i)
      .first()
      .waitFor();
    expect(r.requests.some((u) => u.includes('/admin/queues/api/queues'))).toBe(true);
    expect(r.requests.filter((u) => /\/admin\/queues\/static\/.+\.js$/.test(u)).length).toBeGreaterThanOrEqual(3);
    expect(await settled(r)).toEqual(clean);
  });

  it('a deep link into Bull Board with a trailing slash works too', async () => {
    const r = await open('/admin/queues/queue/notify.sms/');
    await r.page.getByText('notify.sms').first().waitFor();
    expect(await settled(r)).toEqual(clean);
  });

  it('the dashboard', async () => {
    const r = await open(`/dashboard?app=${t.appId}`);
    await r.page.locator('[data-channel="email"][data-stat="sent"]').waitFor();
    expect(r.requests.some((u) => u.includes('/dashboard/assets/'))).toBe(true);
    expect(await settled(r)).toEqual(clean);
  });

  it('the inbox demo, with the <notify-inbox> component', async () => {
    const r = await open('/inbox-demo');
    await r.page.locator('notify-inbox .status').getByText('Set the user-id and token attributes.').waitFor({ state: 'attached' });
    expect(r.requests).toContain(`${origin}/inbox-client/notify-inbox.js`);
    expect(await settled(r)).toEqual(clean);
  });

  it('the API docs', async () => {
    const r = await open('/docs');
    await r.page.locator('.swagger-ui .info').getByText('notify').first().waitFor();
    expect(r.requests).toContain(`${origin}/openapi.json`);
    expect(await settled(r)).toEqual(clean);
  });
});
