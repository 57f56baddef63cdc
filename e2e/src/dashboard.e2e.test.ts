import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, type TestEnv } from '@notify/core/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { ADMIN_PASSWORD, startApi, startWorker, type ApiService, type Service } from './processes.js';

/**
 * The dashboard in a real browser (headless Chromium): log in, watch counts
 * move as notifications go through the built API and worker, open a failed
 * delivery, replay it, see it delivered. Leaves a screenshot in test-artifacts/.
 */
const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts');
let t: TestEnv;
let api: ApiService;
let worker: Service;
let browser: Browser;

beforeAll(async () => {
  t = await createTestEnv();
  // SMS fails for good on the first attempt, and succeeds when replayed.
  const env = { SMS_PROVIDERS: 'simulated', SIMULATED_FAIL_FIRST: '1', SIMULATED_PERMANENT: 'true', IN_APP_PROVIDERS: 'console' };
  api = await startApi(t, env);
  worker = await startWorker(t, ['sms', 'in_app'], env);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([api?.stop('SIGTERM'), worker?.stop('SIGTERM')]);
  await t?.close();
});

describe('the dashboard', () => {
  it('shows counts change, opens a failed delivery, replays it and sees it delivered', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: ADMIN_PASSWORD }, viewport: { width: 1400, height: 1300 } });
    const page = await context.newPage();
    await page.goto(`${api.url}/dashboard?app=${t.appId}`);
    const stat = (channel: string, name: string) => page.locator(`[data-channel="${channel}"][data-stat="${name}"]`);
    await expect.poll(() => stat('in_app', 'delivered').textContent()).toBe('0');
    await expect(page.locator('a[href="/admin/queues"]').count()).resolves.toBe(1);
    await expect(page.locator('a[href="/docs"]').count()).resolves.toBe(1);

    const sent: Notification[] = [];
    for (let i = 0; i < 5; i++) {
      await api.call('PUT', `/users/dash-${i}`, { phone: '+14155550100' });
      sent.push((await (await api.call('POST', '/notifications', { user_id: `dash-${i}`, message: `Hello ${i}`, channels: ['in_app', 'sms'] })).json()) as Notification);
    }
    // The page refreshes itself every few seconds.
    await expect.poll(() => stat('in_app', 'delivered').textContent(), { timeout: 20_000 }).toBe('5');
    await expect.poll(() => stat('sms', 'failed').textContent(), { timeout: 20_000 }).toBe('5');
    await expect.poll(() => stat('sms', 'sent').textContent()).toBe('5');

    // Failures by provider and error code, then the failed deliveries behind them.
    await page.locator('#failures').getByText('simulated_permanent').waitFor();
    await page.locator('#failures a.show-failed').first().click();
    await page.locator('#failed button.replay').first().waitFor();
    expect(await page.locator('#failed button.replay').count()).toBe(5);
    const deliveryId = await page.locator('#failed button.replay').first().getAttribute('data-delivery');
    await page.locator('#failed button.replay').first().click();
    await expect.poll(() => page.locator('#failed .replay-status').first().textContent(), { timeout: 20_000 }).toContain('delivered');
    const notification = sent.find((n) => n.deliveries.some((d) => d.id === deliveryId))!;
    const fresh = (await (await api.call('GET', `/notifications/${notification.id}`)).json()) as Notification;
    expect(fresh.deliveries.find((d) => d.id === deliveryId)).toMatchObject({ status: 'delivered', attempts: 2 });

    // Search: the notification's whole timeline.
    await page.fill('#q', notification.id);
    await page.click('#search button');
    await page.locator('#timeline').getByText('replayed').waitFor();
    const timeline = await page.locator('#timeline').textContent();
    expect(timeline).toContain('created');
    expect(timeline).toMatch(/attempt 1: permanent_error \(simulated_permanent/);
    expect(timeline).toContain('delivered');

    // Live panel: provider health and queue depth.
    await page.locator('#live').getByText('queue sms').waitFor();
    expect(await page.locator('#live').textContent()).toMatch(/sms · simulated.*closed/s);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    await context.close();
  }, 90_000);

  it('refuses the page and its data without admin credentials', async () => {
    for (const p of ['/dashboard', `/dashboard/api/overview?app=${t.appId}`, '/dashboard/assets/dashboard.js']) {
      expect((await fetch(`${api.url}${p}`)).status).toBe(401);
    }
  });
});
