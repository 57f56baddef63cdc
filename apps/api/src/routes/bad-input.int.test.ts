// Hostile input from a tenant with an ordinary API key: every case below used
// to answer 500 (PostgreSQL refusing a NUL or a malformed uuid, a stack
// overflow). Each must now be its 4xx in the error shape, and write nothing.
import { LIMITS } from '@notify/core/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await t.call('PUT', '/users/bi-1', { email: 'bi@example.com', phone: '+14155550100' });
  await t.call('POST', '/topics/bi-news/subscribers', { user_ids: ['bi-1'] });
});
afterAll(() => t?.close());

const NUL = 'a\u0000b';
const DASHES = '-'.repeat(36);
const send = { user_id: 'bi-1', channels: ['email'], message: 'hello' };

/** `{"a": {"a": ... leaf}}`, `levels` objects deep, built without recursion. */
function nest(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** Every table a refused request could have written to. */
async function rowCounts(): Promise<Record<string, number>> {
  const p = t.db.prisma;
  const [notifications, deliveries, users, devices, categories, templates, keys, topics, subscriptions, idempotency] = await Promise.all([
    p.notification.count(),
    p.delivery.count(),
    p.user.count(),
    p.device.count(),
    p.category.count(),
    p.template.count(),
    p.apiKey.count(),
    p.topic.count(),
    p.topicSubscription.count(),
    p.idempotencyKey.count(),
  ]);
  return { notifications, deliveries, users, devices, categories, templates, keys, topics, subscriptions, idempotency };
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const body = await json<ErrorJson>(res);
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  expect(body.error.request_id).toBeTruthy();
  return body;
}

describe('a NUL byte in a string is 422 naming the field, and writes nothing', () => {
  it.each([
    ['message', 'POST', '/notifications', { ...send, message: NUL }, 'message'],
    ['subject', 'POST', '/notifications', { ...send, subject: NUL }, 'subject'],
    ['type', 'POST', '/notifications', { ...send, type: NUL }, 'type'],
    ['data', 'POST', '/notifications', { ...send, data: { a: { b: NUL } } }, 'data.a.b'],
    ['a data key', 'POST', '/notifications', { ...send, data: { 'k\u0000': 1 } }, 'data.k\\u0000'],
    ['a bulk recipient', 'POST', '/notifications/bulk', { channels: ['email'], message: 'hi', recipients: [{ user_id: 'bi-1', data: { x: NUL } }] }, 'recipients.0.data.x'],
    ['a category description', 'PUT', '/categories/bi-promo', { description: NUL }, 'description'],
    ['a template body', 'POST', '/templates', { key: 'bi_tpl', locales: { en: { sms: { text: NUL } } } }, 'locales.en.sms.text'],
    ['a template name', 'PUT', '/templates/bi_tpl', { name: NUL, locales: { en: { sms: { text: 'ok' } } } }, 'name'],
    ['a key name', 'POST', '/keys', { name: NUL }, 'name'],
    ['a device token', 'PUT', '/users/bi-2', { devices: [{ kind: 'fcm', token: NUL }] }, 'devices.0.token'],
  ])('%s', async (_what, method, path, body, field) => {
    const before = await rowCounts();
    const res = await t.call(method, path, body);
    const err = await expectError(res, 422, 'validation_failed');
    expect(err.error.details).toEqual([{ path: field, message: expect.stringMatching(/NUL/) }]);
    expect(await rowCounts()).toEqual(before);
  });

  it.each([
    ['/users/bi-1/notifications?cursor=%00', 'cursor'],
    ['/deliveries?cursor=ab%00cd', 'cursor'],
    ['/users/bi-1/inbox?cursor=%00', 'cursor'],
    ['/templates?cursor=x%00', 'cursor'],
    ['/topics/bi-news/subscribers?cursor=%00', 'cursor'],
    ['/users/bi-1/notifications?status%00=x', 'status\\u0000'],
  ])('in the query: GET %s', async (path, field) => {
    const err = await expectError(await t.call('GET', path), 422, 'validation_failed');
    expect(err.error.details).toEqual([{ path: field, message: expect.stringMatching(/NUL/) }]);
  });

  it('in a cursor that decodes to one: 400 invalid_request', async () => {
    const nulCursor = Buffer.from('\u0000').toString('base64url');
    for (const path of [`/templates?cursor=${nulCursor}`, `/topics/bi-news/subscribers?cursor=${nulCursor}`, `/deliveries?cursor=${nulCursor}`]) {
      await expectError(await t.call('GET', path), 400, 'invalid_request');
    }
  });

  it('in a path parameter', async () => {
    const err = await expectError(await t.call('GET', '/users/a%00b'), 422, 'validation_failed');
    expect(err.error.details?.[0]?.path).toBe('user_id');
    await expectError(await t.call('GET', '/notifications/a%00b'), 404, 'not_found');
  });
});

describe('a malformed id in a path is 404', () => {
  it.each([
    ['POST', `/users/bi-1/inbox/${DASHES}/read`],
    ['DELETE', `/keys/${DASHES}`],
    ['GET', `/notifications/${DASHES}`],
    ['POST', `/notifications/${DASHES}/cancel`],
    ['GET', `/deliveries/${DASHES}`],
    ['POST', `/deliveries/${DASHES}/retry`],
    ['GET', `/batches/${DASHES}`],
    ['GET', `/webhooks/${DASHES}`],
    ['DELETE', `/webhooks/${DASHES}`],
    ['GET', `/webhooks/${DASHES}/deliveries`],
    ['GET', '/notifications/not-an-id'],
    ['GET', `/notifications/${'f'.repeat(200)}`],
  ])('%s %s', async (method, path) => {
    const before = await rowCounts();
    await expectError(await t.call(method, path), 404, 'not_found');
    expect(await rowCounts()).toEqual(before);
  });
});

describe(`JSON nested deeper than ${LIMITS.jsonDepth} levels is 422 naming the path`, () => {
  it('data nested 8,000 deep', async () => {
    const before = await rowCounts();
    // As text: JSON.stringify itself overflows on 8,000 levels.
    const body = `${JSON.stringify(send).slice(0, -1)},"data":${'{"a":'.repeat(8000)}1${'}'.repeat(8000)}}`;
    const err = await expectError(await t.call('POST', '/notifications', body, { 'content-type': 'application/json' }), 422, 'validation_failed');
    expect(err.error.details).toEqual([{ path: `data${'.a'.repeat(LIMITS.jsonDepth - 1)}`, message: `nests deeper than ${LIMITS.jsonDepth} levels of objects and arrays` }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('a template webhook payload nested 2,000 deep', async () => {
    const before = await rowCounts();
    const payload = `${'{"a":'.repeat(2000)}"{{ x }}"${'}'.repeat(2000)}`;
    const body = `{"key":"bi_deep","locales":{"en":{"webhook":{"payload":${payload}}}}}`;
    const err = await expectError(await t.call('POST', '/templates', body, { 'content-type': 'application/json' }), 422, 'validation_failed');
    expect(err.error.details?.[0]?.path).toMatch(/^locales\.en\.webhook\.payload(\.a)+$/);
    expect(await rowCounts()).toEqual(before);
  });

  it('arrays count too, and a body exactly at the limit is accepted', async () => {
    let arrays: unknown = [];
    for (let i = 0; i < 100; i++) arrays = [arrays];
    await expectError(await t.call('POST', '/notifications', { ...send, data: { list: arrays } }), 422, 'validation_failed');
    // The body is level 1 and data level 2: data may hold 30 levels more.
    const ok = await t.call('POST', '/notifications', { ...send, data: nest(LIMITS.jsonDepth - 1) });
    expect(ok.status).toBe(202);
    await expectError(await t.call('POST', '/notifications', { ...send, data: nest(LIMITS.jsonDepth) }), 422, 'validation_failed');
  });
});

describe('a query parameter given twice is 422 naming it', () => {
  it.each(['/users/bi-1/notifications?limit=1&limit=500', '/deliveries?status=failed&status=queued', '/users/bi-1/inbox?limit=5&limit=5'])('GET %s', async (path) => {
    const err = await expectError(await t.call('GET', path), 422, 'validation_failed');
    const name = new URL(path, 'http://x').searchParams.keys().next().value;
    expect(err.error.details).toEqual([{ path: name, message: 'is given 2 times; give it once' }]);
  });

  it('a parameter given once still works', async () => {
    expect((await t.call('GET', '/users/bi-1/notifications?limit=1')).status).toBe(200);
  });
});
