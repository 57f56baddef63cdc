import { listUserNotifications } from '@notify/core/notifications';
import { exportUser, getPreferences, getUser, putUser, setPreferences, eraseUser, type ErasureDeps, type WebhookPolicy } from '@notify/core/audience';
import { NotificationListQuery, NotificationPage, Preferences, PutPreferencesBody, PutUserBody, User, UserExport, UserParams } from '@notify/core/schemas';
import { z } from 'zod';
import { newRouter } from '../router.js';
import { errorResponses, jsonBody, jsonResponse, KEY_OR_USER_TOKEN, pageResponses, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

const Erased = z
  .object({
    user_id: z.string(),
    notifications: z.number().int(),
    deliveries: z.number().int(),
    inbox_items: z.number().int(),
    status_events: z.number().int(),
    workflow_runs: z.number().int().meta({ description: "The user's workflow runs, with their steps" }),
    schedules: z.number().int().meta({ description: 'Schedules that sent to this user alone (`target: { user_id }`), with their job schedulers' }),
    jobs_removed: z.number().int().meta({ description: 'Delivery, status event and workflow step jobs removed from Redis' }),
  })
  .meta({ id: 'Erased' });

export function userRoutes(deps: ErasureDeps & { webhooks: WebhookPolicy }) {
  const app = newRouter();
  const { db } = deps;

  app.openapi(
    tenantRoute({
      method: 'put',
      path: '/{user_id}',
      operationId: 'putUser',
      tags: ['users'],
      summary: "Create or update a user's contacts",
      description: 'Omitted fields keep their value, null clears one; `devices`, when given, replaces the list.',
      request: { params: UserParams, body: jsonBody(PutUserBody) },
      responses: { 200: jsonResponse('Updated', User), 201: jsonResponse('Created', User) },
    }),
    async (c) => {
      const { user, created } = await putUser(db, c.get('appId'), c.req.valid('param').user_id, c.req.valid('json'), deps.webhooks, keyActor(c));
      return created ? c.json(user, 201) : c.json(user, 200);
    },
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}',
      operationId: 'getUser',
      tags: ['users'],
      summary: "A user's contacts and devices",
      request: { params: UserParams },
      responses: { 200: jsonResponse('The user', User), ...errorResponses(404) },
    }),
    async (c) => c.json(await getUser(db, c.get('appId'), c.req.valid('param').user_id), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{user_id}',
      operationId: 'eraseUser',
      tags: ['users'],
      summary: 'Erase a user: every row and job about them',
      description:
        'Deletes contacts, devices, preferences, subscriptions, notifications (with deliveries and attempts), inbox items, status events, workflow runs and the schedules sending to this user alone, and their jobs. Later notifications to this id send nothing until it is created again with PUT.',
      request: { params: UserParams },
      responses: { 200: jsonResponse('What was erased', Erased) },
    }),
    async (c) => c.json(await eraseUser(deps, c.get('appId'), c.req.valid('param').user_id, keyActor(c)), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/export',
      operationId: 'exportUser',
      tags: ['users'],
      summary: 'Everything held about a user, as one JSON document (GDPR art. 15)',
      description:
        'Profile and contacts, devices, preferences, topic subscriptions, notifications with their deliveries, attempts and replays, inbox items, status events, workflow runs and the schedules naming the user, for this app only.',
      request: { params: UserParams },
      responses: { 200: jsonResponse('The export', UserExport), ...errorResponses(404) },
    }),
    async (c) => c.json(await exportUser(db, c.get('appId'), c.req.valid('param').user_id), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/notifications',
      operationId: 'listUserNotifications',
      tags: ['notifications'],
      summary: "A user's notifications, newest first",
      request: { params: UserParams, query: NotificationListQuery },
      responses: pageResponses(NotificationPage),
    }),
    async (c) => c.json(await listUserNotifications(db, c.get('appId'), c.req.valid('param').user_id, c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/{user_id}/preferences',
      operationId: 'setPreferences',
      tags: ['preferences'],
      security: KEY_OR_USER_TOKEN,
      summary: 'Opt a user in or out of channels',
      description: 'Channels not mentioned keep their setting. Answers the effective settings.',
      request: { params: UserParams, body: jsonBody(PutPreferencesBody) },
      responses: { 200: jsonResponse('Effective settings', Preferences) },
    }),
    async (c) => c.json(await setPreferences(db, c.get('appId'), c.req.valid('param').user_id, c.req.valid('json'), keyActor(c)), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{user_id}/preferences',
      operationId: 'getPreferences',
      tags: ['preferences'],
      security: KEY_OR_USER_TOKEN,
      summary: "A user's effective channel settings (default: enabled)",
      request: { params: UserParams },
      responses: { 200: jsonResponse('Effective settings', Preferences) },
    }),
    async (c) => c.json(await getPreferences(db, c.get('appId'), c.req.valid('param').user_id), 200),
  );

  return app;
}
