import { isUuid, type Db, type Redis } from '@notify/core/platform';
import { INBOX_ACTIONS, deleteInboxItem, inboxItemsAfter, listInbox, markAllRead, unreadCount, updateInboxItem, type InboxAction, type InboxEvent } from '@notify/core/inbox';
import { InboxItem, InboxPage, InboxQuery, ReadAllResult, UnreadCount, UserParams } from '@notify/core/schemas';
import { setTimeout as sleep } from 'node:timers/promises';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { newRouter } from '../router.js';
import type { InboxHub } from '../inbox-hub.js';
import { errorResponses, IdParams, jsonResponse, KEY_OR_USER_TOKEN, pageResponses, tenantRoute } from '../openapi.js';

const ItemParams = UserParams.extend(IdParams.shape);
const KEEPALIVE_MS = 15_000;
/** Read by the authentication (api-key-auth.ts); declared here for the document. */
const StreamQuery = z.object({
  token: z.string().optional().meta({ description: 'A user token, for clients that cannot send Authorization (EventSource)' }),
  last_event_id: z
    .string()
    .optional()
    .meta({ description: 'Resume after this item, as `Last-Event-ID` does, for a client opening a new EventSource (which cannot send the header); the header wins' }),
});

/** What each item action is called in the document. */
const ACTION_DOCS: Record<InboxAction, { operationId: string; summary: string }> = {
  read: { operationId: 'markInboxItemRead', summary: 'Mark one item read' },
  unread: { operationId: 'markInboxItemUnread', summary: 'Mark one item unread' },
  archive: { operationId: 'archiveInboxItem', summary: 'Archive one item: it leaves the inbox (and the unread count) for the archive (`?archived=true`)' },
  unarchive: { operationId: 'unarchiveInboxItem', summary: 'Bring an archived item back to the inbox' },
};

/**
 * The in-app inbox: list, unread count, mark read or unread, archive,
 * delete, and a live stream of new items. Every route takes the app's API
 * key or that user's token (user-token-scope.ts).
 */
export function inboxRoutes(deps: { db: Db; hub: InboxHub; redis: Redis }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/inbox',
      operationId: 'listInbox',
      tags: ['inbox'],
      security: KEY_OR_USER_TOKEN,
      summary: "A user's in-app inbox (or with `archived=true` its archive), newest first, with the unread count",
      description: 'Deleted items are never listed.',
      request: { params: UserParams, query: InboxQuery },
      responses: pageResponses(InboxPage),
    }),
    async (c) => c.json(await listInbox(db, c.get('appId'), c.req.valid('param').user_id, c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/inbox/unread_count',
      operationId: 'getInboxUnreadCount',
      tags: ['inbox'],
      security: KEY_OR_USER_TOKEN,
      summary: 'How many inbox items are unread (for a badge)',
      request: { params: UserParams },
      responses: { 200: jsonResponse('The count', UnreadCount) },
    }),
    async (c) => c.json({ unread_count: await unreadCount(db, c.get('appId'), c.req.valid('param').user_id) }, 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{user_id}/inbox/read-all',
      operationId: 'markAllInboxRead',
      tags: ['inbox'],
      security: KEY_OR_USER_TOKEN,
      summary: 'Mark every item read (archived ones too)',
      request: { params: UserParams },
      responses: { 200: jsonResponse('How many changed', ReadAllResult) },
    }),
    async (c) => c.json(await markAllRead(db, c.get('appId'), c.req.valid('param').user_id), 200),
  );

  for (const action of INBOX_ACTIONS) {
    app.openapi(
      tenantRoute({
        method: 'post',
        path: `/{user_id}/inbox/{id}/${action}`,
        ...ACTION_DOCS[action],
        tags: ['inbox'],
        security: KEY_OR_USER_TOKEN,
        description: 'Idempotent: doing it again changes nothing (a time set stays the first one).',
        request: { params: ItemParams },
        responses: { 200: jsonResponse('The item', InboxItem), ...errorResponses(404) },
      }),
      async (c) => {
        const { user_id, id } = c.req.valid('param');
        return c.json(await updateInboxItem(db, c.get('appId'), user_id, id, action), 200);
      },
    );
  }

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{user_id}/inbox/{id}',
      operationId: 'deleteInboxItem',
      tags: ['inbox'],
      security: KEY_OR_USER_TOKEN,
      summary: 'Delete one item: it is never listed, counted or streamed again, and its content is cleared',
      request: { params: ItemParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(404) },
    }),
    async (c) => {
      const { user_id, id } = c.req.valid('param');
      await deleteInboxItem(db, c.get('appId'), user_id, id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/inbox/stream',
      operationId: 'streamInbox',
      tags: ['inbox'],
      security: KEY_OR_USER_TOKEN,
      summary: 'Live stream of new inbox items (Server-Sent Events)',
      description:
        "Each new item arrives as an `item` event whose data is the item and whose id is the item id. Reconnecting with `Last-Event-ID` (or `?last_event_id=`, for a new EventSource) first sends the items missed since; one that is not an item id is ignored (the stream starts live). A comment line every 15 s keeps proxies from closing the connection. Open streams are capped per app (`INBOX_STREAMS_PER_APP`, default 1000) and per user (`INBOX_STREAMS_PER_USER`, default 10) across replicas: one more answers 429 with `Retry-After`. A browser's `EventSource` cannot send headers: give the user token as `?token=` (never logged).",
      request: { params: UserParams, query: StreamQuery },
      responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } } },
    }),
    async (c) => {
      const appId = c.get('appId');
      const userId = c.req.valid('param').user_id;
      const log = c.get('log');
      // Only one of our item ids can resume a stream; anything else (documented) is ignored and the stream starts live.
      const resumeFrom = c.req.header('last-event-id') ?? c.req.valid('query').last_event_id;
      const lastEventId = resumeFrom !== undefined && isUuid(resumeFrom) ? resumeFrom : undefined;
      // Over the per-app or per-user cap: 429 here, before anything is subscribed.
      const lease = await deps.hub.admit(deps.redis, appId, userId);
      return streamSSE(c, async (stream) => {
        const ended = new AbortController();
        stream.onAbort(() => ended.abort());
        const untrack = deps.hub.track(() => stream.abort());
        let stop: (() => Promise<void>) | undefined;
        // Whatever ends the stream (the client leaving, an error, shutdown), the finally
        // below gives back its subscription and its place under the caps.
        try {
          const sent = new Set<string>();
          let live = false;
          const send = async (item: InboxEvent) => {
            if (!live) {
              if (sent.has(item.id)) return;
              sent.add(item.id);
            }
            await stream.writeSSE({ event: 'item', id: item.id, data: JSON.stringify(item) });
          };
          // Listen before catching up, so an item published in between is not missed.
          const queue: InboxEvent[] = [];
          stop = await deps.hub.listen(appId, userId, (item) => {
            if (live) void send(item);
            else queue.push(item);
          });
          if (lastEventId) {
            for (const item of await inboxItemsAfter(db, appId, userId, lastEventId)) await send(item);
          }
          for (const item of queue.splice(0)) await send(item);
          live = true;
          sent.clear();
          await stream.writeSSE({ event: 'ready', data: JSON.stringify({ unread_count: await unreadCount(db, appId, userId) }) });
          while (!stream.aborted && !stream.closed) {
            await sleep(KEEPALIVE_MS, undefined, { signal: ended.signal }).catch(() => {});
            if (stream.aborted) break;
            await stream.write(': keepalive\n\n');
            await lease.renew();
          }
        } catch (err) {
          // Not rethrown: Hono would send the error's message to the client as an event.
          log.warn({ err }, 'inbox stream ended by an error');
        } finally {
          untrack();
          await Promise.all([stop?.(), lease.release()]);
        }
      });
    },
  );

  return app;
}
