import { PRIORITY, type Channel } from '@notify/core/platform';
import { replayDelivery } from '@notify/core/deliveries';
import { createSimulatedProvider, ProviderError, type Provider } from '@notify/core/channels';
import { createTestEnv, notificationFinished, waitFor, type TestEnv } from '@notify/core/testing';
import type { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker } from '../channel-worker.js';
import { notifyForTest, testWorkerOptions } from '../testing/test-worker.js';

let t: TestEnv;
const workers: Worker[] = [];

beforeAll(async () => {
  t = await createTestEnv();
  await t.db.prisma.user.create({ data: { appId: t.appId, id: 'u1', email: 'a@example.com', phone: '+14155550100' } });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(Object.values(t.queues).map((q) => q.obliterate({ force: true })));
});
afterAll(() => t?.close());

function startWorker(channel: Channel, provider: Provider | Provider[], concurrency = 5, autorun = true, rateLimit?: { max: number; durationMs: number }): Worker {
  const worker = createChannelWorker(testWorkerOptions(t, channel, provider, { concurrency, rateLimit, autorun }));
  workers.push(worker);
  return worker;
}

/** Wraps a provider to record when each send happened and what it was asked. */
function recording(provider: Provider) {
  const calls: { at: number; deliveryId: string; attempt: number; channel: Channel }[] = [];
  const wrapped: Provider = {
    name: provider.name,
    channels: provider.channels,
    send(envelope, ctx) {
      calls.push({ at: performance.now(), deliveryId: ctx.deliveryId, attempt: ctx.attempt, channel: envelope.channel });
      return provider.send(envelope, ctx);
    },
  };
  return { provider: wrapped, calls };
}

const simulated = (o: Partial<Parameters<typeof createSimulatedProvider>[0]> = {}) =>
  createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false, ...o });

const notify = (input: Record<string, unknown>, retry?: { attempts: number; baseDelayMs: number }) => notifyForTest(t, { user_id: 'u1', message: 'Hello', ...input }, retry);
const finished = (id: string) => notificationFinished(t.db, id);

describe('deliver', () => {
  it('delivers a notification to three channels and records provider and message id', async () => {
    const channels: Channel[] = ['email', 'sms', 'in_app'];
    for (const c of channels) startWorker(c, simulated());
    const n = await notify({ channels });
    const done = await finished(n.id);
    expect(done.status).toBe('delivered');
    expect(done.deliveries).toHaveLength(3);
    for (const d of done.deliveries) {
      expect(d).toMatchObject({ status: 'delivered', attempts: 1, provider: 'simulated', lastErrorCode: null });
      expect(d.providerMessageId).toMatch(/^simulated-/);
      expect(d.deliveredAt).toBeInstanceOf(Date);
    }
  });

  it('retries a transient failure with exponential backoff and delivers on attempt 3', async () => {
    const { provider, calls } = recording(simulated({ failFirst: 2 }));
    startWorker('email', provider);
    const n = await notify({ channels: ['email'] }, { attempts: 4, baseDelayMs: 300 });
    const done = await finished(n.id);
    expect(done.status).toBe('delivered');
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3, lastErrorCode: 'simulated_transient' });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    const history = await t.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: done.deliveries[0]!.id }, orderBy: { id: 'asc' } });
    expect(history.map((a) => [a.attempt, a.provider, a.outcome, a.errorCode])).toEqual([
      [1, 'simulated', 'retryable_error', 'simulated_transient'],
      [2, 'simulated', 'retryable_error', 'simulated_transient'],
      [3, 'simulated', 'delivered', null],
    ]);
    const gaps = [calls[1]!.at - calls[0]!.at, calls[2]!.at - calls[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(300);
    // Lower bounds are the backoff; the upper ones only allow for a busy machine.
    expect(gaps[0]).toBeLessThan(300 + 1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(600);
    expect(gaps[1]).toBeLessThan(600 + 1000);
  });

  it('waits 2 s then 4 s between attempts at the production base delay', async () => {
    const { provider, calls } = recording(simulated({ failFirst: 2 }));
    startWorker('sms', provider);
    const n = await notify({ channels: ['sms'] }, { attempts: 4, baseDelayMs: 2000 });
    const done = await finished(n.id);
    expect(done.status).toBe('delivered');
    const gaps = [calls[1]!.at - calls[0]!.at, calls[2]!.at - calls[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(2000);
    expect(gaps[0]).toBeLessThan(3500);
    expect(gaps[1]).toBeGreaterThanOrEqual(4000);
    expect(gaps[1]).toBeLessThan(5500);
  });

  it('marks a delivery failed after 4 attempts when the provider always fails', async () => {
    const { provider, calls } = recording(simulated({ failureRate: 1 }));
    startWorker('email', provider);
    const n = await notify({ channels: ['email'] }, { attempts: 4, baseDelayMs: 20 });
    const done = await finished(n.id);
    expect(done.status).toBe('failed');
    expect(done.deliveries[0]).toMatchObject({ status: 'failed', attempts: 4, lastErrorCode: 'simulated_transient', provider: 'simulated' });
    expect(done.deliveries[0]!.failedAt).toBeInstanceOf(Date);
    expect(calls).toHaveLength(4);
    const job = await t.queues.email.getJob(done.deliveries[0]!.id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(4);
  });

  it("waits the provider's Retry-After instead of the backoff", async () => {
    let calls = 0;
    const times: number[] = [];
    const provider: Provider = {
      name: 'limited',
      channels: ['email'],
      async send() {
        times.push(performance.now());
        if (++calls === 1) throw new ProviderError('slow down', { code: 'rate_limited', retryable: true, retryAfterMs: 1500 });
        return { providerMessageId: 'ok' };
      },
    };
    startWorker('email', provider);
    const n = await notify({ channels: ['email'] }, { attempts: 4, baseDelayMs: 50 });
    const done = await finished(n.id);
    expect(done.status).toBe('delivered');
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1500);
    expect(times[1]! - times[0]!).toBeLessThan(1500 + 1500);
  });

  it('stops at once on a permanent failure', async () => {
    const { provider, calls } = recording(simulated({ failureRate: 1, permanent: true }));
    startWorker('email', provider);
    const n = await notify({ channels: ['email'] }, { attempts: 4, baseDelayMs: 20 });
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastErrorCode: 'simulated_permanent' });
    expect(calls).toHaveLength(1);
    const history = await t.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: done.deliveries[0]!.id } });
    expect(history.map((a) => a.outcome)).toEqual(['permanent_error']);
    const job = await t.queues.email.getJob(done.deliveries[0]!.id);
    expect(job?.attemptsMade).toBe(1);
  });

  it('delivers a replayed dead letter once, with fresh attempts and the same delivery id', async () => {
    let calls = 0;
    const provider: Provider = {
      name: 'flaky',
      channels: ['email'],
      async send() {
        if (++calls === 1) throw new ProviderError('mailbox full', { code: 'mailbox_full', retryable: false });
        return { providerMessageId: `sent-${calls}` };
      },
    };
    startWorker('email', provider);
    const n = await notify({ channels: ['email'] }, { attempts: 4, baseDelayMs: 20 });
    const failed = await finished(n.id);
    expect(failed.status).toBe('failed');
    const id = failed.deliveries[0]!.id;
    await replayDelivery({ db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 20 } }, t.appId, id, 'req-1');
    const done = await finished(n.id);
    expect(done.status).toBe('delivered');
    expect(done.deliveries[0]).toMatchObject({ id, status: 'delivered', attempts: 2, providerMessageId: 'sent-2' });
    expect(calls).toBe(2);
    const history = await t.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: id }, orderBy: { id: 'asc' } });
    expect(history.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'permanent_error'],
      [2, 'delivered'],
    ]);
    expect(await t.db.prisma.deliveryReplay.count({ where: { deliveryId: id } })).toBe(1);
  });

  it('skips a delivery whose contact was removed after it was queued, without calling the provider', async () => {
    await t.db.prisma.user.create({ data: { appId: t.appId, id: 'u2', phone: '+14155550101' } });
    const n = await notify({ user_id: 'u2', message: 'x', channels: ['sms'] }, { attempts: 4, baseDelayMs: 20 });
    await t.db.prisma.user.update({ where: { appId_id: { appId: t.appId, id: 'u2' } }, data: { phone: null } });
    const { provider, calls } = recording(simulated());
    startWorker('sms', provider);
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'skipped', reason: 'no_contact' });
    expect(calls).toHaveLength(0);
  });

  it('keeps a channel queue under its configured rate limit (e.g. SMS_RATE_LIMIT=5/s)', async () => {
    const { provider, calls } = recording(simulated());
    startWorker('sms', provider, 20, true, { max: 5, durationMs: 1000 });
    const ids = [];
    for (let i = 0; i < 11; i++) ids.push((await notify({ channels: ['sms'] })).id);
    await Promise.all(ids.map(finished));
    const span = calls.at(-1)!.at - calls[0]!.at;
    // 11 jobs at 5 per second need at least two full windows after the first.
    expect(span).toBeGreaterThanOrEqual(1900);
  });

  it('pauses the queue when a provider rate-limits, without spending an attempt', async () => {
    let calls = 0;
    const times: number[] = [];
    const provider: Provider = {
      name: 'throttled',
      channels: ['sms'],
      async send() {
        times.push(performance.now());
        if (++calls === 1) throw new ProviderError('429', { code: 'twilio_429', retryable: true, rateLimited: true, retryAfterMs: 800 });
        return { providerMessageId: 'ok' };
      },
    };
    startWorker('sms', provider);
    const n = await notify({ channels: ['sms'] }, { attempts: 1, baseDelayMs: 20 });
    const done = await finished(n.id);
    // One attempt allowed, yet delivered: the throttled try did not count.
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(750);
  });

  it('fails over to the next provider on a retryable error and records which one sent', async () => {
    const down: Provider = {
      name: 'primary',
      channels: ['email'],
      async send() {
        throw new ProviderError('connection refused', { code: 'smtp_connection', retryable: true });
      },
    };
    startWorker('email', [down, simulated()]);
    const n = await notify({ channels: ['email'] });
    const done = await finished(n.id);
    expect(done.deliveries[0]).toMatchObject({ status: 'delivered', provider: 'simulated', attempts: 1 });
    const history = await t.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: done.deliveries[0]!.id } });
    expect(history.map((a) => [a.provider, a.outcome])).toEqual([['simulated', 'delivered']]);
  });

  it('processes waiting jobs by priority: critical first, low last', async () => {
    const order = ['low', 'normal', 'high', 'critical', 'low', 'critical'] as const;
    const byDelivery = new Map<string, string>();
    for (const priority of order) {
      const n = await notify({ channels: ['in_app'], priority });
      byDelivery.set(n.deliveries[0]!.id, priority);
    }
    // Read while waiting: a completed delivery job is removed.
    const critical = [...byDelivery].find(([, p]) => p === 'critical')![0];
    expect((await t.queues.in_app.getJob(critical))?.opts.priority).toBe(PRIORITY.critical);
    const { provider, calls } = recording(simulated());
    const worker = startWorker('in_app', provider, 1, false);
    void worker.run();
    await waitFor(async () => (calls.length === order.length ? true : undefined), 10_000, 'all jobs');
    expect(calls.map((c) => byDelivery.get(c.deliveryId))).toEqual(['critical', 'critical', 'high', 'normal', 'low', 'low']);
    expect(await t.queues.in_app.getJob(critical)).toBeUndefined();
  });
});
