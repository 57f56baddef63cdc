import type { Db } from '@notify/core/platform';
import { getTopic, listSubscribers, subscribe, unsubscribe } from '@notify/core/audience';
import { PageQuery, SubscriberPage, Topic, TopicKey, TopicUsers } from '@notify/core/schemas';
import { z } from 'zod';
import { keyActor } from '../audit-actor.js';
import { newRouter } from '../router.js';
import { errorResponses, jsonBody, jsonResponse, pageResponses, pathParams, tenantRoute } from '../openapi.js';

const KeyParams = pathParams({ key: TopicKey });
/** The body of a subscribe or an unsubscribe: the users it names. */
const UsersRequest = { params: KeyParams, body: jsonBody(TopicUsers) };

/** Topics: named groups of users; a notification to a topic fans out to each subscriber. */
export function topicRoutes(deps: { db: Db }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{key}',
      operationId: 'getTopic',
      tags: ['topics'],
      summary: 'A topic and its subscriber count',
      request: { params: KeyParams },
      responses: { 200: jsonResponse('The topic', Topic), ...errorResponses(404) },
    }),
    async (c) => c.json(await getTopic(db, c.get('appId'), c.req.valid('param').key), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{key}/subscribers',
      operationId: 'subscribeToTopic',
      tags: ['topics'],
      summary: 'Subscribe users (up to 1,000 a call); creates the topic on first use',
      request: UsersRequest,
      responses: { 200: jsonResponse('The topic', Topic.extend({ added: z.number().int() })) },
    }),
    async (c) => c.json(await subscribe(db, c.get('appId'), c.req.valid('param').key, c.req.valid('json').user_ids, keyActor(c)), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{key}/subscribers',
      operationId: 'listTopicSubscribers',
      tags: ['topics'],
      summary: 'Subscribers, by user id',
      request: { params: KeyParams, query: PageQuery },
      responses: { ...pageResponses(SubscriberPage), ...errorResponses(404) },
    }),
    async (c) => c.json(await listSubscribers(db, c.get('appId'), c.req.valid('param').key, c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{key}/subscribers',
      operationId: 'unsubscribeFromTopic',
      tags: ['topics'],
      summary: 'Unsubscribe users (up to 1,000 a call)',
      request: UsersRequest,
      responses: { 200: jsonResponse('The topic', Topic.extend({ removed: z.number().int() })), ...errorResponses(404) },
    }),
    async (c) => c.json(await unsubscribe(db, c.get('appId'), c.req.valid('param').key, c.req.valid('json').user_ids, keyActor(c)), 200),
  );

  return app;
}
