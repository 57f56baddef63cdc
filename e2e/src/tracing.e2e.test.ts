import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notification } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startApi, startWorker, type ApiService, type Service } from './processes.js';

/** One span as OTLP/JSON carries it, with its process's service.name and its attributes flattened. */
interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, string | number | boolean>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: (Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] })[] }[] }[];
}

const flatten = (attributes: OtlpAttribute[] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? value.boolValue! : Number(value.intValue))]));

/** An OTLP/HTTP receiver (POST /v1/traces, JSON) keeping every span and every raw body. */
function otlpReceiver(): { server: Server; spans: ReceivedSpan[]; bodies: string[] } {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('application/json')) {
      res.writeHead(415).end();
      return;
    }
    bodies.push(body);
    for (const rs of (JSON.parse(body) as OtlpTraces).resourceSpans) {
      const service = String(flatten(rs.resource.attributes)['service.name']);
      for (const s of rs.scopeSpans.flatMap((ss) => ss.spans)) {
        spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', attributes: flatten(s.attributes) });
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  return { server, spans, bodies };
}

/** The notification once it is no longer pending. */
function settled(api: ApiService, id: string): Promise<Notification> {
  return waitFor(async () => {
    const n = (await (await api.call('GET', `/notifications/${id}`)).json()) as Notification;
    return n.status === 'pending' ? undefined : n;
  });
}

let t: TestEnv;
const receiver = otlpReceiver();
const services: Service[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  receiver.server.listen(0, '127.0.0.1');
  await once(receiver.server, 'listening');
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop('SIGKILL')));
  receiver.server.close();
  await t?.close();
});

describe('tracing (OTLP/HTTP to a receiver in the test)', () => {
  it('gives one notification one trace across the API and the worker: request -> delivery attempt -> provider call, ids only', async () => {
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`,
      // Nothing is exported on a timer within the test: every span arrives through the flush at shutdown.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    };
    const api = await startApi(t, otel);
    services.push(api);
    const worker = await startWorker(t, ['email'], otel);
    services.push(worker);

    expect((await api.call('PUT', '/users/traced-1', { email: 'ada.traced@example.com' })).status).toBe(201);
    const res = await api.call('POST', '/notifications', { user_id: 'traced-1', message: 'Secret message text', channels: ['email'] });
    expect(res.status).toBe(202);
    const requestId = res.headers.get('x-request-id')!;
    const { id } = (await res.json()) as Notification;
    const done = await settled(api, id);
    expect(done.status).toBe('delivered');
    const deliveryId = done.deliveries[0]!.id;

    // Bulk: one request span for the batch, the parent of every recipient's delivery attempt.
    expect((await api.call('PUT', '/users/traced-2', { email: 'bob.traced@example.com' })).status).toBe(201);
    const bulk = await api.call('POST', '/notifications/bulk', {
      message: 'Secret message text',
      channels: ['email'],
      recipients: [{ user_id: 'traced-1' }, { user_id: 'traced-2' }],
    });
    expect(bulk.status).toBe(202);
    const batchId = ((await bulk.json()) as { id: string }).id;
    const batchDeliveries = await waitFor(async () => {
      const rows = await t.db.prisma.delivery.findMany({ where: { notification: { batchId } } });
      return rows.length === 2 && rows.every((d) => d.status === 'delivered') ? rows : undefined;
    });

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);

    const ofNotification = receiver.spans.filter((s) => s.attributes['notify.notification_id'] === id);
    const request = ofNotification.find((s) => s.service === 'notify-api');
    const attempt = ofNotification.find((s) => s.service === 'notify-worker' && s.name === 'deliver email');
    const call = ofNotification.find((s) => s.service === 'notify-worker' && s.name === 'email send');
    expect(request).toMatchObject({ name: 'POST /notifications', parentSpanId: '' });
    expect(request?.attributes).toMatchObject({ 'notify.request_id': requestId, 'http.route': '/notifications', 'http.response.status_code': 202 });
    expect(attempt).toMatchObject({ traceId: request?.traceId, parentSpanId: request?.spanId });
    expect(attempt?.attributes).toMatchObject({
      'notify.delivery_id': deliveryId,
      'notify.request_id': requestId,
      'notify.channel': 'email',
      'notify.attempt': 1,
      'notify.outcome': 'delivered',
      'notify.provider': 'console',
    });
    expect(call).toMatchObject({ traceId: request?.traceId, parentSpanId: attempt?.spanId });
    expect(call?.attributes).toMatchObject({ 'notify.delivery_id': deliveryId, 'notify.provider': 'console', 'notify.outcome': 'delivered' });

    const bulkRequest = receiver.spans.find((s) => s.attributes['notify.batch_id'] === batchId);
    expect(bulkRequest).toMatchObject({ service: 'notify-api', name: 'POST /notifications/bulk' });
    const bulkAttempts = receiver.spans.filter((s) => s.name === 'deliver email' && batchDeliveries.some((d) => d.id === s.attributes['notify.delivery_id']));
    expect(bulkAttempts.map((s) => [s.traceId, s.parentSpanId])).toEqual([
      [bulkRequest?.traceId, bulkRequest?.spanId],
      [bulkRequest?.traceId, bulkRequest?.spanId],
    ]);
    expect(receiver.bodies.join('\n')).not.toMatch(/traced@example\.com|Secret message text/);
  });

  it('delivers as usual when the collector is down, and still exits cleanly on SIGTERM', async () => {
    // The exporter retries a refused connection until its timeout (10 s by default), which shutdown waits out once.
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_OTLP_TIMEOUT: '2000' };
    const api = await startApi(t, otel);
    services.push(api);
    const worker = await startWorker(t, ['email'], otel);
    services.push(worker);
    expect((await api.call('PUT', '/users/untraced-1', { email: 'carol.traced@example.com' })).status).toBe(201);
    const res = await api.call('POST', '/notifications', { user_id: 'untraced-1', message: 'Hello', channels: ['email'] });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Notification;
    const done = await settled(api, id);
    expect(done.status).toBe('delivered');
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});
