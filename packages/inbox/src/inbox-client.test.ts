import { describe, expect, it, vi } from 'vitest';
import { InboxClient, listQuery, streamUrl } from './inbox-client.js';
import { InboxError } from './inbox-error.js';
import { FakeEventSource } from './testing/fake-event-source.js';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const refused = () => json(401, { error: { code: 'unauthorized', message: 'Token expired', request_id: 'r1' } });

/** A fetch that answers 401 to any token but `valid`, and records what it was asked. */
function fakeApi(valid: string) {
  const calls: { url: string; method: string; token: string | null }[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const token = new Headers(init?.headers).get('authorization');
    calls.push({ url: String(url), method: init?.method ?? 'GET', token });
    return token === `Bearer ${valid}` ? json(200, { unread_count: 2 }) : refused();
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

describe('InboxClient requests', () => {
  it('sends the token, and calls the routes under the user', async () => {
    const api = fakeApi('t1');
    const client = new InboxClient({ apiUrl: 'https://notify.example.com/', userId: 'user 1/a', token: 't1', fetch: api.fetch });
    expect(await client.unreadCount()).toBe(2);
    await client.markRead('i1');
    await client.markUnread('i1');
    await client.archive('i1');
    await client.unarchive('i1');
    await client.markAllRead();
    await client.delete('i1');
    await client.list({ archived: true, limit: 5 });
    expect(api.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET https://notify.example.com/users/user%201%2Fa/inbox/unread_count',
      'POST https://notify.example.com/users/user%201%2Fa/inbox/i1/read',
      'POST https://notify.example.com/users/user%201%2Fa/inbox/i1/unread',
      'POST https://notify.example.com/users/user%201%2Fa/inbox/i1/archive',
      'POST https://notify.example.com/users/user%201%2Fa/inbox/i1/unarchive',
      'POST https://notify.example.com/users/user%201%2Fa/inbox/read-all',
      'DELETE https://notify.example.com/users/user%201%2Fa/inbox/i1',
      'GET https://notify.example.com/users/user%201%2Fa/inbox?limit=5&archived=true',
    ]);
    expect(new Set(api.calls.map((c) => c.token))).toEqual(new Set(['Bearer t1']));
  });

  it('on a 401, renews the token once and retries with it', async () => {
    const api = fakeApi('fresh');
    const getToken = vi.fn(async () => 'fresh');
    const client = new InboxClient({ apiUrl: '', userId: 'u1', token: 'stale', getToken, fetch: api.fetch });
    expect(await client.unreadCount()).toBe(2);
    expect(api.calls.map((c) => c.token)).toEqual(['Bearer stale', 'Bearer fresh']);
    // The new token is kept.
    await client.unreadCount();
    expect(api.calls.at(-1)?.token).toBe('Bearer fresh');
    expect(getToken).toHaveBeenCalledTimes(1);
  });

  it('concurrent 401s share one renewal', async () => {
    const api = fakeApi('fresh');
    const getToken = vi.fn(async () => 'fresh');
    const client = new InboxClient({ apiUrl: '', userId: 'u1', token: 'stale', getToken, fetch: api.fetch });
    await Promise.all([client.unreadCount(), client.unreadCount(), client.unreadCount()]);
    expect(getToken).toHaveBeenCalledTimes(1);
  });

  it('retries only once: a renewed token refused again is the error', async () => {
    const api = fakeApi('never');
    const client = new InboxClient({ apiUrl: '', userId: 'u1', token: 'stale', getToken: async () => 'also-refused', fetch: api.fetch });
    const err = await client.unreadCount().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InboxError);
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', message: 'Token expired', requestId: 'r1' });
    expect(api.calls).toHaveLength(2);
  });

  it('without getToken, a 401 is the error at once', async () => {
    const api = fakeApi('never');
    const client = new InboxClient({ apiUrl: '', userId: 'u1', token: 'stale', fetch: api.fetch });
    await expect(client.unreadCount()).rejects.toMatchObject({ status: 401 });
    expect(api.calls).toHaveLength(1);
  });

  it('keeps the HTTP status of an error in another shape (a proxy page)', async () => {
    const fetch = (async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })) as typeof globalThis.fetch;
    const client = new InboxClient({ apiUrl: '', userId: 'u1', token: 't', fetch });
    await expect(client.list()).rejects.toMatchObject({ status: 502, code: 'http_502', message: 'Bad Gateway' });
  });
});

describe('InboxClient.subscribe', () => {
  it('reopens a refused stream with the renewed token (checked through the 401 path)', async () => {
    vi.useFakeTimers();
    FakeEventSource.opened = [];
    const api = fakeApi('fresh');
    const client = new InboxClient({
      apiUrl: 'https://n.example',
      userId: 'u1',
      token: 'stale',
      getToken: async () => 'fresh',
      fetch: api.fetch,
      EventSource: FakeEventSource as unknown as typeof EventSource,
    });
    const stop = client.subscribe(() => {});
    expect(FakeEventSource.last.url).toBe('https://n.example/users/u1/inbox/stream?token=stale');
    FakeEventSource.last.emit('item', { id: 'i7' }, 'i7');
    FakeEventSource.last.fail(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(FakeEventSource.last.url).toBe('https://n.example/users/u1/inbox/stream?token=fresh&last_event_id=i7');
    stop();
    vi.useRealTimers();
  });
});

describe('query strings', () => {
  it('names list options as the API does, and leaves out what is not set', () => {
    expect(listQuery({})).toBe('');
    expect(listQuery({ limit: 10, cursor: 'c/1', unreadOnly: true, archived: false })).toBe('limit=10&cursor=c%2F1&unread_only=true');
  });

  it('puts the token and the resume point of a stream in its URL', () => {
    expect(streamUrl('/users/u/inbox', 'a.b+c', undefined)).toBe('/users/u/inbox/stream?token=a.b%2Bc');
    expect(streamUrl('/users/u/inbox', 't', 'i1')).toBe('/users/u/inbox/stream?token=t&last_event_id=i1');
  });
});
