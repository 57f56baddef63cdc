import { describe, expect, it } from 'vitest';
import { middlewareApp, send } from '../testing/middleware-app.js';
import { bodyLimit } from './body-limit.js';

function app(maxBytes: number) {
  const a = middlewareApp();
  a.use(bodyLimit(maxBytes));
  a.post('/echo', async (c) => c.json({ length: (await c.req.text()).length }));
  a.get('/echo', (c) => c.json({ length: 0 }));
  return a;
}

/** A body sent as a stream: no Content-Length, as a chunked upload. */
function chunked(text: string): RequestInit {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 100) controller.enqueue(bytes.slice(i, i + 100));
      controller.close();
    },
  });
  return { method: 'POST', body, duplex: 'half' } as RequestInit;
}

describe('bodyLimit', () => {
  it('lets a body at the limit through', async () => {
    const res = await send(app(100), '/echo', { method: 'POST', headers: { 'content-length': '100' }, body: 'x'.repeat(100) });
    expect(res).toMatchObject({ status: 200, body: { length: 100 } });
  });

  it('answers 413 payload_too_large for a declared Content-Length over the limit, before the body is read', async () => {
    let read = false;
    const a = middlewareApp();
    a.use(bodyLimit(100));
    a.post('/echo', async (c) => {
      read = true;
      return c.json({ length: (await c.req.text()).length });
    });
    const res = await send(a, '/echo', { method: 'POST', headers: { 'content-length': '101' }, body: 'x'.repeat(101) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: 'payload_too_large', message: 'The body is over 100 bytes' } });
    expect(read).toBe(false);
  });

  it('counts a body without Content-Length as it streams', async () => {
    expect((await send(app(1000), '/echo', chunked('y'.repeat(1001)))).status).toBe(413);
    expect(await send(app(1000), '/echo', chunked('y'.repeat(1000)))).toMatchObject({ status: 200, body: { length: 1000 } });
  });

  it('does not trust Content-Length when Transfer-Encoding is also sent', async () => {
    const init = chunked('z'.repeat(500));
    const res = await send(app(100), '/echo', { ...init, headers: { 'content-length': '10', 'transfer-encoding': 'chunked' } });
    expect(res.status).toBe(413);
  });

  it('passes a GET without a body', async () => {
    expect((await send(app(1), '/echo')).status).toBe(200);
  });
});
