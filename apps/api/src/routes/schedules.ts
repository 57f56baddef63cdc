import { createSchedulesQueue, type Db, type Redis } from '@notify/core/platform';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, setSchedulePaused } from '@notify/core/schedules';
import { CreateScheduleBody, Schedule, SchedulePage, ScheduleListQuery } from '@notify/core/schemas';
import { newRouter } from '../router.js';
import { requireRedis } from '../middleware/require-redis.js';
import { errorResponses, IdParams, jsonBody, jsonResponse, pageResponses, tenantRoute } from '../openapi.js';
import { keyActor } from '../audit-actor.js';

/** Recurring schedules: a cron expression in a time zone, a target and what to send at each occurrence. */
export function scheduleRoutes(deps: { db: Db; redis: Redis; queuePrefix: string }) {
  const app = newRouter();
  // Adds to the API's producer connection (fails fast when Redis is away); closing the connection closes it.
  const store = { db: deps.db, schedules: createSchedulesQueue(deps.redis, deps.queuePrefix) };
  // Every change adds or removes a job scheduler: refused before anything is written while Redis is down; reads need no Redis.
  const redis = requireRedis(deps.redis);
  app.use('*', (c, next) => (c.req.method === 'GET' ? next() : redis(c, next)));

  app.openapi(
    tenantRoute({
      method: 'post',
      path: '/',
      operationId: 'createSchedule',
      tags: ['schedules'],
      summary: 'Send on a recurring schedule',
      description:
        'At each occurrence of `cron` in `timezone`, sends `notification` to the target user or topic (or triggers the target workflow with `data`), as POST /notifications (or the trigger) would, under the idempotency key `schedule:<id>:<occurrence>`: however many workers run, an occurrence is sent once, and occurrences missed while no worker ran are sent once when one is back, not once per missed slot. With `timezone: "user"` each recipient gets the same wall-clock time in their own zone (send_at). Refused (422, naming the field) for a cron expression that does not parse or never occurs, an unknown zone, topic, workflow or template, or content that does not render.',
      request: { body: jsonBody(CreateScheduleBody) },
      responses: { 201: jsonResponse('Created, with its next occurrences', Schedule) },
    }),
    async (c) => c.json(await createSchedule(store, c.get('appId'), c.req.valid('json'), keyActor(c)), 201),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/',
      operationId: 'listSchedules',
      tags: ['schedules'],
      summary: 'Schedules, newest first',
      request: { query: ScheduleListQuery },
      responses: pageResponses(SchedulePage),
    }),
    async (c) => c.json(await listSchedules(deps.db, c.get('appId'), c.req.valid('query')), 200),
  );

  app.openapi(
    tenantRoute({
      method: 'get',
      path: '/{id}',
      operationId: 'getSchedule',
      tags: ['schedules'],
      summary: 'A schedule, with how often it fired and its next occurrences',
      request: { params: IdParams },
      responses: { 200: jsonResponse('The schedule', Schedule), ...errorResponses(404) },
    }),
    async (c) => c.json(await getSchedule(deps.db, c.get('appId'), c.req.valid('param').id), 200),
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.openapi(
      tenantRoute({
        method: 'post',
        path: `/{id}/${action}`,
        operationId: `${action}Schedule`,
        tags: ['schedules'],
        summary: paused ? 'Pause: no occurrence fires until resumed' : 'Resume: fires again from the next occurrence on',
        description: paused
          ? 'Its job scheduler is removed, and an occurrence already being fired finds the schedule paused and sends nothing. Pausing a paused schedule changes nothing.'
          : 'Occurrences that passed while it was paused are not sent. Resuming a running schedule changes nothing.',
        request: { params: IdParams },
        responses: { 200: jsonResponse('The schedule', Schedule), ...errorResponses(404) },
      }),
      async (c) => c.json(await setSchedulePaused(store, c.get('appId'), c.req.valid('param').id, paused, keyActor(c)), 200),
    );
  }

  app.openapi(
    tenantRoute({
      method: 'delete',
      path: '/{id}',
      operationId: 'deleteSchedule',
      tags: ['schedules'],
      summary: 'Delete a schedule and its job scheduler',
      description: 'Notifications it already made are kept.',
      request: { params: IdParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteSchedule(store, c.get('appId'), c.req.valid('param').id, keyActor(c));
      return c.body(null, 204);
    },
  );

  return app;
}
