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

describe('API /metrics queue depths', () => {
  it('reports every queue, the workflow steps and schedules beside the channels, fan-outs and status events', async () => {
    const text = await scrape();
    const queues = new Set([...text.matchAll(/^notify_queue_jobs\{queue="([^"]+)",state="waiting"\} \d+$/gm)].map((m) => m[1]));
    expect([...queues].sort()).toEqual(
      ['notify.email', 'notify.sms', 'notify.push', 'notify.in_app', 'notify.webhook', 'notify.fanout', 'notify.events', 'notify.workflows', 'notify.schedules'].sort(),
    );
  });

  it('counts a waiting workflow step job', async () => {
    expect((await t.call('POST', '/workflows', { key: 'metrics-wait', steps: [{ id: 'wait', type: 'delay', duration: '1h' }] })).status).toBe(201);
    const steps = (text: string) =>
      ['waiting', 'delayed', 'prioritized'].reduce(
        (sum, state) => sum + Number(text.match(new RegExp(`^notify_queue_jobs\\{queue="notify.workflows",state="${state}"\\} (\\d+)$`, 'm'))?.[1] ?? 0),
        0,
      );
    const before = steps(await scrape());
    expect((await t.call('POST', '/workflows/metrics-wait/trigger', { user_id: 'u-metrics' })).status).toBe(202);
    expect(steps(await scrape())).toBe(before + 1);
  });
});

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
