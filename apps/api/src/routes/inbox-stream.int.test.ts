// Inbox streams as an attacker would use them: malformed Last-Event-ID
// headers, streams that end in every way there is, and more streams than any
// user needs. Each stream must give back its Redis subscription and its place
// under the caps, whatever ends it.
import { serve } from '@hono/node-server';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeDb, createDb, createLogger, createRedis } from '@notify/core/platform';
import { inboxChannel } from '@notify/core/inbox';
import { createKey } from '@notify/core/access';
import { sseReader, waitFor } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { InboxHub, streamLeaseKeys } from '../inbox-hub.js';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
const hubs: InboxHub[] = [];
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  for (const hub of hubs) await hub.close();
  await t?.close();
});

/** A tenant of its own (test files share Redis, and caps count per app), with its key. */
async function newTenant(): Promise<{ appId: string; key: string }> {
  const appId = `streams-${randomUUID().slice(0, 8)}`;
  await t.db.prisma.app.create({ data: { id: appId, name: appId } });
  return { appId, key: (await createKey(t.db, appId, 'streams')).key };
}

/** An API replica with its own subscriber connection and these caps. */
function replica(limits?: { perApp: number; perUser: number }) {
  const hub = new InboxHub(createRedis(t.env.REDIS_URL, 'subscriber'), createLogger('silent'), t.env.QUEUE_PREFIX, limits);
  hubs.push(hub);
  return { hub, app: createApp({ ...t.deps, hub }) };
}

const open = (app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, key: string, userId: string, headers: Record<string, string> = {}) =>
  Promise.resolve(app.request(`/users/${userId}/inbox/stream`, { headers: { authorization: `Bearer ${key}`, ...headers } }));

/** Subscribers to the user's channel, on every connection to this Redis. */
async function subscribers(appId: string, userId: string): Promise<number> {
  const reply = (await t.redis.pubsub('NUMSUB', inboxChannel(t.env.QUEUE_PREFIX, appId, userId))) as [string, number];
  return Number(reply[1]);
}

/** Leases held for the app and for the user. */
async function leases(appId: string, userId: string): Promise<[number, number]> {
  const [appKey, userKey] = streamLeaseKeys(t.env.QUEUE_PREFIX, appId, userId);
  return [await t.redis.zcard(appKey), await t.redis.zcard(userKey)];
}

/** Waits until nothing of the user's streams is left in Redis. */
async function expectReleased(appId: string, users: string[]): Promise<void> {
  await waitFor(
    async () => {
      for (const u of users) {
        if ((await subscribers(appId, u)) !== 0) return undefined;
        const [a, b] = await leases(appId, u);
        if (a !== 0 || b !== 0) return undefined;
      }
      return true;
    },
    5000,
    `the streams of ${users.join(', ')} to be released`,
  );
}

describe('streams release their subscription however they end', () => {
  it('a malformed Last-Event-ID is ignored (the stream goes live), and closing releases it', async () => {
    const { appId, key } = await newTenant();
    const { app } = replica();
    const bad = ['-'.repeat(36), 'garbage', 'gggggggg-gggg-gggg-gggg-gggggggggggg', "1' OR '1'='1", `${randomUUID()}x`];
    const users = bad.map((_, i) => `lei-${i}`);
    const streams = await Promise.all(bad.map((id, i) => open(app, key, users[i]!, { 'last-event-id': id })));
    const readers = streams.map((res) => {
      expect(res.status).toBe(200);
      return sseReader(res.body!);
    });
    for (const r of readers) expect((await r.next()).event).toBe('ready');
    for (const u of users) expect(await subscribers(appId, u)).toBe(1);
    expect((await leases(appId, users[0]!))[0]).toBe(5);

    await Promise.all(readers.map((r) => r.close()));
    await expectReleased(appId, users);
  });

  it('a stream ended by an error (PostgreSQL gone) releases it', async () => {
    const { appId, key } = await newTenant();
    const db = createDb({ url: t.env.DATABASE_URL, schema: t.env.DATABASE_SCHEMA, poolSize: 1 });
    await closeDb(db);
    const hub = new InboxHub(createRedis(t.env.REDIS_URL, 'subscriber'), createLogger('silent'), t.env.QUEUE_PREFIX);
    hubs.push(hub);
    const broken = createApp({ ...t.deps, db, hub });
    const res = await open(broken, key, 'err-1', { 'last-event-id': randomUUID() });
    expect(res.status).toBe(200);
    // The stream ends without a word about the error (no internals), and the client reconnects.
    expect(await res.text()).toBe('');
    await expectReleased(appId, ['err-1']);
  });

  it('a client that disconnects from a real server releases it', async () => {
    const { appId, key } = await newTenant();
    const { app } = replica();
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const abort = new AbortController();
      const res = await fetch(`http://127.0.0.1:${port}/users/tcp-1/inbox/stream`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
      const reader = sseReader(res.body!);
      expect((await reader.next()).event).toBe('ready');
      expect(await subscribers(appId, 'tcp-1')).toBe(1);
      abort.abort();
      await expectReleased(appId, ['tcp-1']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('shutting the replica down ends its streams and releases their places', async () => {
    const { appId, key } = await newTenant();
    const { hub, app } = replica();
    const readers = await Promise.all(['down-1', 'down-2'].map(async (u) => sseReader((await open(app, key, u)).body!)));
    for (const r of readers) expect((await r.next()).event).toBe('ready');
    expect((await leases(appId, 'down-1'))[0]).toBe(2);
    await hub.close();
    for (const r of readers) await expect(r.next(2000)).rejects.toThrow(/SSE stream ended/);
    await expectReleased(appId, ['down-1', 'down-2']);
  });
});

describe('open streams are capped per user and per app, across replicas', () => {
  it('answers 429 rate_limited with Retry-After past either cap, and frees the place when a stream closes', async () => {
    const { appId, key } = await newTenant();
    const limits = { perApp: 3, perUser: 2 };
    const [a, b] = [replica(limits).app, replica(limits).app];

    const first = [await open(a, key, 'cap-1'), await open(b, key, 'cap-1')];
    const readers = first.map((res) => sseReader(res.body!));
    for (const r of readers) expect((await r.next()).event).toBe('ready');

    const overUser = await open(a, key, 'cap-1');
    expect(overUser.status).toBe(429);
    expect(overUser.headers.get('retry-after')).toBe('5');
    const userError = await json<ErrorJson>(overUser);
    expect(userError.error).toMatchObject({ code: 'rate_limited', message: '2 inbox streams are already open for this user; close one first' });
    expect(userError.error.request_id).toBeTruthy();

    const other = await open(b, key, 'cap-2');
    readers.push(sseReader(other.body!));
    expect((await readers[2]!.next()).event).toBe('ready');

    const overApp = await open(a, key, 'cap-3');
    expect(overApp.status).toBe(429);
    expect((await json<ErrorJson>(overApp)).error.message).toBe('3 inbox streams are already open for this app; close one first');
    // A refused stream subscribed to nothing.
    expect(await subscribers(appId, 'cap-3')).toBe(0);

    // Another app is not affected by this one's streams.
    const stranger = await newTenant();
    const elsewhere = await open(a, stranger.key, 'cap-3');
    expect(elsewhere.status).toBe(200);
    await elsewhere.body!.cancel();

    await readers[0]!.close();
    const later = await waitFor(
      async () => {
        const res = await open(a, key, 'cap-3');
        if (res.status === 200) return res;
        await res.body?.cancel();
        return undefined;
      },
      5000,
      'a place to free up',
    );
    readers.push(sseReader(later.body!));
    expect((await readers[3]!.next()).event).toBe('ready');

    await Promise.all(readers.slice(1).map((r) => r.close()));
    await expectReleased(appId, ['cap-1', 'cap-2', 'cap-3']);
    await expectReleased(stranger.appId, ['cap-3']);
  });

  it('defaults to the documented caps, set by INBOX_STREAMS_PER_APP and INBOX_STREAMS_PER_USER', () => {
    expect(t.deps.hub.limits).toEqual({ perApp: 1000, perUser: 10 });
    expect(t.env.INBOX_STREAMS_PER_USER).toBe(10);
  });
});
