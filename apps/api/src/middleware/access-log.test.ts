import { describe, expect, it } from 'vitest';
import { middlewareApp, recordingLogger } from '../testing/middleware-app.js';
import { accessLog } from './access-log.js';

describe('accessLog', () => {
  it('logs one line per request with method, path, status and duration, under the request id', async () => {
    const log = recordingLogger();
    const app = middlewareApp();
    app.use(accessLog(log));
    app.get('/things/:id', (c) => {
      c.get('log').info('inside');
      return c.json({ ok: true }, 201);
    });
    const res = await app.request('/things/7?secret=x', { headers: { 'x-request-id': 'req-1' } });
    expect(res.status).toBe(201);
    expect(log.lines).toEqual([
      // The handler's logger is the request's child: its lines carry the request id too.
      { request_id: 'req-1', level: 'info', msg: 'inside' },
      { request_id: 'req-1', level: 'info', msg: 'request', method: 'GET', path: '/things/7', status: 201, ms: expect.any(Number) },
    ]);
  });

  it('logs the status of an error answered by the error handler', async () => {
    const log = recordingLogger();
    const app = middlewareApp();
    app.use(accessLog(log));
    app.get('/missing', (c) => c.json({ error: 'no' }, 404));
    await app.request('/missing', { headers: { 'x-request-id': 'req-2' } });
    expect(log.lines).toEqual([expect.objectContaining({ request_id: 'req-2', msg: 'request', status: 404, path: '/missing' })]);
  });
});
