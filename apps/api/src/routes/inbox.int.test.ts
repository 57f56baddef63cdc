import { createLogger, createRedis, newId } from '@notify/core/platform';
import type { InboxItem, InboxPage } from '@notify/core/schemas';
import { sseReader } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { InboxHub } from '../inbox-hub.js';
import { inboxDeliverer } from '../testing/inbox-delivery.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let deliver: (userId: string, body: string) => Promise<string>;

beforeAll(async () => {
  t = await createTestApp();
  deliver = inboxDeliverer(t);
});
afterAll(() => t?.close());

describe('inbox', () => {
  it('lists items newest first with the unread count, and marks them read', async () => {
    const a = await deliver('in-1', 'first');
    const b = await deliver('in-1', 'second');
    const page = await json<InboxPage>(await t.call('GET', '/users/in-1/inbox'));
    expect(page.data.map((i) => [i.id, i.body, i.read_at])).toEqual([
      [b, 'second', null],
      [a, 'first', null],
    ]);
    expect(page.unread_count).toBe(2);

    const read = await t.call('POST', `/users/in-1/inbox/${a}/read`);
    expect(read.status).toBe(200);
    expect((await json<InboxItem>(read)).read_at).not.toBeNull();
    expect(await json<{ unread_count: number }>(await t.call('GET', '/users/in-1/inbox/unread_count'))).toEqual({ unread_count: 1 });
    const unread = await json<InboxPage>(await t.call('GET', '/users/in-1/inbox?unread_only=true'));
    expect(unread.data.map((i) => i.id)).toEqual([b]);

    expect(await json<{ marked: number }>(await t.call('POST', '/users/in-1/inbox/read-all'))).toEqual({ marked: 1, unread_count: 0 });
    expect((await json<InboxPage>(await t.call('GET', '/users/in-1/inbox'))).unread_count).toBe(0);
  });

  it('pages with a cursor', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await deliver('in-2', `m${i}`));
    const first = await json<InboxPage>(await t.call('GET', '/users/in-2/inbox?limit=2'));
    const second = await json<InboxPage>(await t.call('GET', `/users/in-2/inbox?limit=2&cursor=${first.next_cursor}`));
    expect([...first.data, ...second.data].map((i) => i.id)).toEqual(ids.reverse());
    expect(second.next_cursor).toBeNull();
  });

  it("answers 404 for an unknown item and for another user's item", async () => {
    const item = await deliver('in-3', 'mine');
    const res = await t.call('POST', `/users/in-4/inbox/${item}/read`);
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
    expect((await t.call('POST', `/users/in-3/inbox/${newId()}/read`)).status).toBe(404);
    expect((await t.call('GET', '/users/in-3/inbox?unread_only=maybe')).status).toBe(422);
  });
});

describe('GET /users/{user_id}/inbox/stream', () => {
  it('streams a new item to every replica with a stream open (latency is measured by npm run bench)', async () => {
    // A second replica: its own app and its own Redis subscription.
    const hub = new InboxHub(createRedis(t.env.REDIS_URL, 'subscriber'), createLogger('silent'), t.env.QUEUE_PREFIX);
    const replica = createApp({ ...t.deps, hub });
    const [here, there] = await Promise.all([
      t.call('GET', '/users/sse-1/inbox/stream'),
      replica.request('/users/sse-1/inbox/stream', { headers: { authorization: `Bearer ${t.key}` } }),
    ]);
    expect(here.headers.get('content-type')).toMatch(/text\/event-stream/);
    const streams = [sseReader(here.body!), sseReader(there.body!)];
    for (const s of streams) expect((await s.next()).event).toBe('ready');

    const id = await deliver('sse-1', 'live!');
    for (const s of streams) {
      const event = await s.next(5000);
      expect(event).toMatchObject({ event: 'item', id });
      expect(JSON.parse(event.data)).toMatchObject({ id, body: 'live!', title: 'Hi', data: { k: 1 }, read_at: null });
    }
    // Another user's items do not reach this stream: the next event is one of ours published after it
    // (one Redis connection publishes both, and Redis keeps their order).
    await deliver('sse-2', 'not yours');
    const after = await deliver('sse-1', 'after');
    for (const s of streams) expect(await s.next(5000)).toMatchObject({ event: 'item', id: after });
    await Promise.all(streams.map((s) => s.close()));
    await hub.close();
  });

  it("hears nothing of another deployment's items: a service with another QUEUE_PREFIX on the same Redis, same app and user", async () => {
    const stream = sseReader((await t.call('GET', '/users/sse-5/inbox/stream')).body!);
    expect((await stream.next()).event).toBe('ready');
    await inboxDeliverer(t, `${t.env.QUEUE_PREFIX}-other`)('sse-5', 'from the other deployment');
    // Published after it on the same connection: the next event is ours, so the other one was never heard.
    const ours = await deliver('sse-5', 'ours');
    expect(await stream.next(5000)).toMatchObject({ event: 'item', id: ours });
    await stream.close();
  });

  it('sends what was missed since Last-Event-ID, then goes live', async () => {
    const seen = await deliver('sse-3', 'seen');
    const missed1 = await deliver('sse-3', 'missed 1');
    const missed2 = await deliver('sse-3', 'missed 2');
    const res = await t.call('GET', '/users/sse-3/inbox/stream', undefined, { 'last-event-id': seen });
    const s = sseReader(res.body!);
    expect((await s.next()).id).toBe(missed1);
    expect((await s.next()).id).toBe(missed2);
    const ready = await s.next();
    expect(ready.event).toBe('ready');
    expect(JSON.parse(ready.data)).toEqual({ unread_count: 3 });
    await s.close();
  });

  it('resumes from ?last_event_id= too (a new EventSource cannot send the header), and the header wins', async () => {
    const seen = await deliver('sse-4', 'seen');
    const missed = await deliver('sse-4', 'missed');
    const byQuery = sseReader((await t.call('GET', `/users/sse-4/inbox/stream?last_event_id=${seen}`)).body!);
    expect((await byQuery.next()).id).toBe(missed);
    expect((await byQuery.next()).event).toBe('ready');
    await byQuery.close();
    // Both given: the header's id (the newest) is where it resumes, so nothing is replayed.
    const both = sseReader((await t.call('GET', `/users/sse-4/inbox/stream?last_event_id=${seen}`, undefined, { 'last-event-id': missed })).body!);
    expect((await both.next()).event).toBe('ready');
    await both.close();
  });
});
