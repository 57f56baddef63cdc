import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.js';
import { resolveRequest } from './accept.js';
import { resolveSpec } from './spec.js';
import { NotificationWriter } from './writer.js';
import { createTemplate } from '../content/templates.js';
import { TemplateBody } from '../schemas/templates.js';
import { countingPool, createTestEnv, type TestEnv } from '../testing/index.js';

let t: TestEnv;
let counted: ReturnType<typeof countingPool>;
let writer: NotificationWriter;

beforeAll(async () => {
  t = await createTestEnv();
  counted = countingPool(t.db.pool);
  writer = new NotificationWriter({ db: { ...t.db, pool: counted.pool }, queues: t.queues, retry: { attempts: 4, baseDelayMs: 2000 }, log: t.log });
  await createTemplate(t.db, t.appId, 'greet', TemplateBody.parse({ locales: { en: { in_app: { title: 'Hi', body: 'Hi {{ name }}' } } } }));
});
afterAll(() => t?.close());

const spec = (data: Record<string, unknown> = {}, template?: string) =>
  resolveSpec(t.db, t.appId, { message: 'Hello', channels: ['in_app'], priority: 'normal', data, ...(template ? { template } : {}) });

describe('NotificationWriter', () => {
  it('writes concurrent notifications in a few multi-row statements, each stored with its job', async () => {
    counted.reset();
    const s = await spec();
    const planned = await Promise.all(Array.from({ length: 60 }, (_, i) => writer.write(s, `gc-${i}`)));
    expect(counted.count('insert_notifications')).toBeGreaterThan(0);
    expect(counted.count('insert_notifications')).toBeLessThan(10);
    const stored = await t.db.prisma.notification.findMany({ where: { id: { in: planned.map((p) => p.id) } }, include: { deliveries: true } });
    expect(stored).toHaveLength(60);
    for (const p of planned) {
      const job = await t.queues.in_app.getJob(p.deliveries[0]!.id);
      expect(job?.data.notification_id).toBe(p.id);
    }
  });

  it('fails only the request whose template does not render; the others in its batch are stored', async () => {
    const [good, bad] = await Promise.all([spec({ name: 'Ada' }, 'greet'), spec({}, 'greet')]);
    const results = await Promise.allSettled([writer.write(good, 'tr-1'), writer.write(bad, 'tr-2'), writer.write(good, 'tr-3')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason as AppError;
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('validation_failed');
    expect(await t.db.prisma.notification.count({ where: { userId: { in: ['tr-1', 'tr-2', 'tr-3'] } } })).toBe(2);
  });

  it("carries each request's traceparent into its own jobs in a shared group, and none when tracing is off", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const input = { message: 'Hello', channels: ['in_app' as const], priority: 'normal' as const };
    const [traced, untraced] = await Promise.all([resolveRequest({ db: t.db, traceparent }, t.appId, input), resolveRequest({ db: t.db }, t.appId, input)]);
    const [a, b] = await Promise.all([writer.write(traced, 'tp-1'), writer.write(untraced, 'tp-2')]);
    const jobA = await t.queues.in_app.getJob(a.deliveries[0]!.id);
    const jobB = await t.queues.in_app.getJob(b.deliveries[0]!.id);
    expect(jobA?.data.traceparent).toBe(traceparent);
    expect(jobB?.data.notification_id).toBe(b.id);
    expect(jobB?.data).not.toHaveProperty('traceparent');
  });

  it('retries a batch the database refused row by row, so only the bad row fails', async () => {
    const s = await spec();
    // PostgreSQL refuses a NUL byte in text: the whole multi-row statement fails.
    const results = await Promise.allSettled(['nul-1', 'nul\u0000bad', 'nul-3'].map((u) => writer.write(s, u)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await t.db.prisma.notification.count({ where: { userId: { in: ['nul-1', 'nul-3'] } } })).toBe(2);
  });
});
