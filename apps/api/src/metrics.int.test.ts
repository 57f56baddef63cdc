import type { Notification } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type TestApp } from './testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const scrape = async () => (await t.call('GET', '/metrics', undefined, { authorization: adminHeader })).text();
const deadLetters = (text: string, channel: string) => Number(text.match(new RegExp(`^notify_dead_letters\\{channel="${channel}"\\} (\\d+)$`, 'm'))?.[1]);

describe('API /metrics dead letters', () => {
  it('counts failed deliveries per channel, every channel shown from zero', async () => {
    const before = await scrape();
    expect(deadLetters(before, 'webhook')).toBe(0);
    const n = await json<Notification>(await t.call('POST', '/notifications', { user_id: 'u-dead-letter', message: 'x', channels: ['in_app'] }));
    expect(deadLetters(before, 'in_app')).toBe(0);
    await t.db.pool.query("UPDATE deliveries SET status = 'failed' WHERE notification_id = $1", [n.id]);
    expect(deadLetters(await scrape(), 'in_app')).toBe(1);
  });
});
