import type { InboxItem, InboxPage, UserToken } from '@notify/core/schemas';
import { sseReader } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxDeliverer } from '../testing/inbox-delivery.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let deliver: ReturnType<typeof inboxDeliverer>;

beforeAll(async () => {
  t = await createTestApp();
  deliver = inboxDeliverer(t);
});
afterAll(() => t?.close());

/** The user's own token, as a browser would use it. */
async function as(userId: string) {
  const { token } = await json<UserToken>(await t.call('POST', `/users/${userId}/tokens`));
  return (method: string, path: string) => t.call(method, `/users/${userId}/inbox${path}`, undefined, { authorization: `Bearer ${token}` });
}
const ids = async (res: Response) => (await json<InboxPage>(res)).data.map((i) => i.id);

describe('inbox item actions (with a user token)', () => {
  it('carries the link and sender of its message', async () => {
    const id = await deliver('act-0', 'linked', { link: '/orders/7', senderId: 'user-42' });
    const plain = await deliver('act-0', 'plain');
    const call = await as('act-0');
    const page = await json<InboxPage>(await call('GET', ''));
    expect(page.data.map((i) => [i.id, i.link, i.sender_id, i.archived_at])).toEqual([
      [plain, null, null, null],
      [id, '/orders/7', 'user-42', null],
    ]);
  });

  it('marks one item unread again', async () => {
    const id = await deliver('act-1', 'x');
    const call = await as('act-1');
    expect((await json<InboxItem>(await call('POST', `/${id}/read`))).read_at).not.toBeNull();
    const unread = await call('POST', `/${id}/unread`);
    expect(unread.status).toBe(200);
    expect((await json<InboxItem>(unread)).read_at).toBeNull();
    expect((await json<InboxItem>(await call('POST', `/${id}/unread`))).read_at).toBeNull();
    expect(await json<{ unread_count: number }>(await call('GET', '/unread_count'))).toEqual({ unread_count: 1 });
  });

  it('archives: the item leaves the inbox and its unread count for ?archived=true, and comes back unarchived', async () => {
    const kept = await deliver('act-2', 'kept');
    const archived = await deliver('act-2', 'archived');
    const call = await as('act-2');
    const res = await call('POST', `/${archived}/archive`);
    expect(res.status).toBe(200);
    const first = (await json<InboxItem>(res)).archived_at;
    expect(first).not.toBeNull();
    // Archiving again keeps the first time.
    expect((await json<InboxItem>(await call('POST', `/${archived}/archive`))).archived_at).toBe(first);
    expect(await ids(await call('GET', ''))).toEqual([kept]);
    expect(await ids(await call('GET', '?archived=true'))).toEqual([archived]);
    expect((await json<InboxPage>(await call('GET', ''))).unread_count).toBe(1);

    expect((await json<InboxItem>(await call('POST', `/${archived}/unarchive`))).archived_at).toBeNull();
    expect(await ids(await call('GET', ''))).toEqual([archived, kept]);
    expect(await ids(await call('GET', '?archived=true'))).toEqual([]);
  });

  it('deletes: never listed, counted, acted on or resumed again, its content cleared', async () => {
    const before = await deliver('act-3', 'before');
    const doomed = await deliver('act-3', 'secret words', { link: 'https://example.com/x', senderId: 's' });
    const call = await as('act-3');
    expect((await call('DELETE', `/${doomed}`)).status).toBe(204);
    expect(await ids(await call('GET', ''))).toEqual([before]);
    expect(await ids(await call('GET', '?archived=true'))).toEqual([]);
    expect(await json<{ unread_count: number }>(await call('GET', '/unread_count'))).toEqual({ unread_count: 1 });
    for (const [method, path] of [
      ['DELETE', `/${doomed}`],
      ['POST', `/${doomed}/read`],
      ['POST', `/${doomed}/archive`],
    ]) {
      const res = await call(method!, path!);
      expect(res.status).toBe(404);
      expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
    }
    const { rows } = await t.db.pool.query('SELECT title, body, data, link, sender_id, deleted_at IS NOT NULL AS deleted FROM inbox_items WHERE id = $1', [doomed]);
    expect(rows).toEqual([{ title: null, body: '', data: null, link: null, sender_id: null, deleted: true }]);
    // A reconnecting stream does not get it back.
    const resumed = await t.call('GET', '/users/act-3/inbox/stream', undefined, { 'last-event-id': before });
    const r = sseReader(resumed.body!);
    expect((await r.next()).event).toBe('ready');
    await r.close();
    // The user's export leaves it out too.
    await t.call('PUT', '/users/act-3', {});
    const exported = await json<{ inbox: InboxItem[] }>(await t.call('GET', '/users/act-3/export'));
    expect(exported.inbox.map((i) => i.id)).toEqual([before]);
  });

  it("answers 404 for another user's item, even with the API key", async () => {
    const theirs = await deliver('act-4', 'theirs');
    const call = await as('act-5');
    expect((await call('DELETE', `/${theirs}`)).status).toBe(404);
    expect((await t.call('POST', `/users/act-5/inbox/${theirs}/archive`)).status).toBe(404);
    expect((await t.call('GET', '/users/act-4/inbox')).status).toBe(200);
    expect(await ids(await t.call('GET', '/users/act-4/inbox'))).toEqual([theirs]);
  });
});
