// biome-ignore-all lint/suspicious/noThenProperty: `then` is a branch step's field; steps are data, never awaited
import { createWorkflowsQueue, type Channel, type WorkflowStepJob } from '@notify/core/platform';
import { createInboxProvider, createSimulatedProvider, type Envelope, type Provider } from '@notify/core/channels';
import { createTemplate } from '@notify/core/content';
import { markAllRead } from '@notify/core/inbox';
import { sweepOutbox } from '@notify/core/outbox';
import { TemplateBody, WorkflowBody, type WorkflowRun } from '@notify/core/schemas';
import { createTestEnv, waitFor, type TestEnv } from '@notify/core/testing';
import { AppError } from '@notify/core/platform';
import { cancelRun, createWorkflow, getRun, runStep, triggerWorkflow, type WorkflowDeps } from '@notify/core/workflows';
import type { Queue, Worker } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelWorker, createWorkflowWorker } from '../channel-worker.js';
import { testWorkerOptions } from '../testing/test-worker.js';

let t: TestEnv;
let workflows: Queue<WorkflowStepJob>;
let deps: WorkflowDeps;
const workers: Worker[] = [];
const sent: Envelope[] = [];

/** A provider that records what it was asked to send. */
function recorder(channels: Channel[]): Provider {
  const inner = createSimulatedProvider({ failureRate: 0, failFirst: 0, latencyMs: 0, permanent: false });
  return {
    name: 'recorder',
    channels,
    async send(envelope, ctx) {
      sent.push(envelope);
      return inner.send(envelope, ctx);
    },
  };
}

const emailsTo = (address: string) => sent.filter((e) => e.channel === 'email' && e.message.to === address);

beforeAll(async () => {
  t = await createTestEnv();
  workflows = createWorkflowsQueue(t.redis, t.env.QUEUE_PREFIX);
  deps = { db: t.db, queues: t.queues, retry: { attempts: 4, baseDelayMs: 100 }, log: t.log, workflows };
  workers.push(createChannelWorker(testWorkerOptions(t, 'email', recorder(['email']))));
  workers.push(createChannelWorker(testWorkerOptions(t, 'in_app', createInboxProvider({ pool: t.db.pool, redis: t.redis, prefix: t.env.QUEUE_PREFIX }))));
  workers.push(createWorkflowWorker({ connection: t.workerRedis, prefix: t.env.QUEUE_PREFIX, deps, log: t.log }));
  await createTemplate(
    t.db,
    t.appId,
    'comment',
    TemplateBody.parse({
      locales: {
        en: {
          in_app: { body: 'New comment from {{ author }}' },
          email: { subject: 'A comment from {{ author }}', text: 'Read it' },
        },
      },
    }),
  );
  await createTemplate(
    t.db,
    t.appId,
    'digest',
    TemplateBody.parse({ locales: { en: { email: { subject: '{{ events.size }} new comments', text: '{% for e in events %}{{ e.author }};{% endfor %}' } } } }),
  );
  await createTemplate(t.db, t.appId, 'alert', TemplateBody.parse({ locales: { en: { email: { subject: 'Alert {{ severity }}', text: 'Alert' } } } }));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await workflows?.close();
  await t?.close();
});

async function user(id: string) {
  await t.db.prisma.user.create({ data: { appId: t.appId, id, email: `${id}@example.com` } });
  return id;
}

async function workflow(key: string, steps: unknown[]) {
  await createWorkflow(t.db, t.appId, key, WorkflowBody.parse({ steps }));
}

const trigger = async (key: string, userIds: string[], data: Record<string, unknown> = {}, idempotencyKey?: string) =>
  (await triggerWorkflow(deps, t.appId, key, { userIds, data, idempotencyKey })).response;

/** The run once it has ended (or `until` says it has reached the state wanted). */
const settled = (id: string, until: (r: WorkflowRun) => boolean = (r) => r.status !== 'running', timeoutMs = 15_000) =>
  waitFor(
    async () => {
      const run = await getRun(t.db, t.appId, id);
      return until(run) ? run : undefined;
    },
    timeoutMs,
    `run ${id}`,
  );

describe('workflow runs', () => {
  it('in-app, then email only if still unread after the delay: read in time -> no email; unread -> one email', async () => {
    await workflow('comment_flow', [
      { id: 'inbox', type: 'send', channels: ['in_app'], template: 'comment' },
      { id: 'wait', type: 'delay', duration: '2s' },
      { id: 'unread', type: 'branch', if: { step: 'inbox', is: 'not_read' } },
      { id: 'mail', type: 'send', channels: ['email'], template: 'comment' },
    ]);
    const reader = await user('wf-reader');
    const ignorer = await user('wf-ignorer');
    const { runs } = await trigger('comment_flow', [reader, ignorer], { author: 'Ada' });
    const [readRun, unreadRun] = runs;
    // The reader reads the in-app item during the delay.
    await waitFor(async () => ((await t.db.prisma.inboxItem.count({ where: { appId: t.appId, userId: reader } })) > 0 ? true : undefined), 10_000, 'inbox item');
    await markAllRead(t.db, t.appId, reader);

    const read = await settled(readRun!.id);
    const unread = await settled(unreadRun!.id);
    expect(read.status).toBe('completed');
    expect(read.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'skipped']);
    expect(read.steps[2]!.detail).toMatchObject({ condition: false, went: 'end' });
    expect(unread.status).toBe('completed');
    expect(unread.steps.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(unread.steps[3]!.notification_ids).toHaveLength(1);
    // The delay held the run: the email step began at least 2 s after the in-app one.
    expect(Date.parse(unread.steps[3]!.finished_at!) - Date.parse(unread.steps[0]!.finished_at!)).toBeGreaterThanOrEqual(2000);
    await waitFor(async () => (emailsTo(`${ignorer}@example.com`).length > 0 ? true : undefined), 10_000, 'email');
    await sleep(300);
    expect(emailsTo(`${ignorer}@example.com`)).toHaveLength(1);
    expect(emailsTo(`${reader}@example.com`)).toHaveLength(0);
    // The email is an ordinary notification of the run's user, with the trigger data.
    const email = await t.db.prisma.notification.findUniqueOrThrow({ where: { id: unread.steps[3]!.notification_ids[0]! } });
    expect(email).toMatchObject({ userId: ignorer, templateKey: 'comment' });
  });

  it('5 triggers within a digest window make one email listing 5 events; a 6th after the window opens a new digest', async () => {
    await workflow('comment_digest', [
      { id: 'collect', type: 'digest', window: '2s' },
      { id: 'mail', type: 'send', channels: ['email'], template: 'digest' },
    ]);
    const u = await user('wf-digest');
    const triggers = await Promise.all([1, 2, 3, 4, 5].map((i) => trigger('comment_digest', [u], { author: `a${i}` })));
    const ids = triggers.map((tr) => tr.runs[0]!.id);
    const runs = await Promise.all(ids.map((id) => settled(id)));
    const openers = runs.filter((r) => r.status === 'completed');
    expect(openers).toHaveLength(1);
    const opener = openers[0]!;
    expect(runs.filter((r) => r.status === 'digested').every((r) => r.merged_into === opener.id)).toBe(true);
    expect(opener.steps[0]!.detail).toMatchObject({ events: 5 });
    await waitFor(async () => (emailsTo(`${u}@example.com`).length > 0 ? true : undefined), 10_000, 'digest email');
    const [first] = emailsTo(`${u}@example.com`);
    expect(first?.channel === 'email' && first.message.subject).toBe('5 new comments');
    expect(first?.channel === 'email' && first.message.text?.split(';').filter(Boolean).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);

    const sixth = await trigger('comment_digest', [u], { author: 'a6' });
    const next = await settled(sixth.runs[0]!.id);
    expect(next.status).toBe('completed');
    expect(next.steps[0]!.detail).toMatchObject({ events: 1 });
    await waitFor(async () => (emailsTo(`${u}@example.com`).length > 1 ? true : undefined), 10_000, 'second digest email');
    expect(emailsTo(`${u}@example.com`).map((e) => e.channel === 'email' && e.message.subject)).toEqual(['5 new comments', '1 new comments']);
  });

  it('a digest key keeps separate digests per value', async () => {
    await workflow('post_digest', [
      { id: 'collect', type: 'digest', window: '1s', key: '{{ data.post_id }}' },
      { id: 'mail', type: 'send', channels: ['email'], template: 'digest' },
    ]);
    const u = await user('wf-digest-key');
    const made = await Promise.all(['p1', 'p2', 'p1'].map((post_id) => trigger('post_digest', [u], { post_id, author: post_id })));
    const runs = await Promise.all(made.map((m) => settled(m.runs[0]!.id)));
    expect(runs.map((r) => r.status).sort()).toEqual(['completed', 'completed', 'digested']);
    expect(runs.find((r) => r.status === 'digested')?.digest_key).toBe('p1');
  });

  it('branches on trigger data', async () => {
    await workflow('alerting', [
      { id: 'severe', type: 'branch', if: { field: 'data.severity', op: 'eq', value: 'high' } },
      { id: 'mail', type: 'send', channels: ['email'], template: 'alert' },
    ]);
    const high = await user('wf-high');
    const low = await user('wf-low');
    const [h, l] = await Promise.all([trigger('alerting', [high], { severity: 'high' }), trigger('alerting', [low], { severity: 'low' })]);
    const [hr, lr] = await Promise.all([settled(h.runs[0]!.id), settled(l.runs[0]!.id)]);
    expect(hr.steps.map((s) => s.status)).toEqual(['done', 'done']);
    expect(lr.steps.map((s) => s.status)).toEqual(['done', 'skipped']);
    expect(lr.reason).toMatch(/^branch severe/);
    await waitFor(async () => (emailsTo(`${high}@example.com`).length > 0 ? true : undefined), 10_000, 'alert email');
    expect(emailsTo(`${low}@example.com`)).toHaveLength(0);
  });

  it('branches on delivered and on a user attribute', async () => {
    await workflow('delivered_then', [
      { id: 'inbox', type: 'send', channels: ['in_app'], template: 'comment' },
      { id: 'wait', type: 'delay', duration: '1s' },
      { id: 'got_it', type: 'branch', if: { step: 'inbox', is: 'delivered' }, then: 'localized', else: 'end' },
      { id: 'localized', type: 'branch', if: { field: 'user.locale', op: 'exists' } },
      { id: 'mail', type: 'send', channels: ['email'], template: 'alert' },
    ]);
    const withLocale = await user('wf-locale');
    await t.db.prisma.user.update({ where: { appId_id: { appId: t.appId, id: withLocale } }, data: { locale: 'fr' } });
    const without = await user('wf-no-locale');
    const { runs } = await trigger('delivered_then', [withLocale, without], { author: 'Ada', severity: 'x' });
    const [a, b] = await Promise.all(runs.map((r) => settled(r.id)));
    expect(a!.steps.map((s) => s.detail?.went ?? s.status)).toEqual(['done', 'done', 'localized', 'mail', 'done']);
    expect(b!.steps.map((s) => s.detail?.went ?? s.status)).toEqual(['done', 'done', 'localized', 'end', 'skipped']);
  });

  it('a send step that can never succeed fails the run, saying why', async () => {
    // The digest template lists `events`, which only a digest gives.
    await workflow('no_events', [{ id: 'mail', type: 'send', channels: ['email'], template: 'digest' }]);
    const u = await user('wf-fails');
    const { runs } = await trigger('no_events', [u]);
    const run = await settled(runs[0]!.id);
    expect(run.status).toBe('failed');
    expect(run.reason).toMatch(/^step mail: validation_failed/);
    expect(run.steps[0]).toMatchObject({ status: 'failed', notification_ids: [], detail: { error: { code: 'validation_failed' } } });
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: u } })).toBe(0);
  });

  it('a run cancelled during its delay never sends; cancelling again is a 409', async () => {
    await workflow('later', [
      { id: 'wait', type: 'delay', duration: '2s' },
      { id: 'mail', type: 'send', channels: ['email'], template: 'alert' },
    ]);
    const u = await user('wf-cancel');
    const { runs } = await trigger('later', [u], { severity: 'x' });
    await settled(runs[0]!.id, (r) => r.steps[0]!.status === 'waiting');
    const cancelled = await cancelRun(deps, t.appId, runs[0]!.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    await sleep(3000);
    const after = await getRun(t.db, t.appId, runs[0]!.id);
    expect(after.status).toBe('cancelled');
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: u } })).toBe(0);
    await expect(cancelRun(deps, t.appId, runs[0]!.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('two triggers with one Idempotency-Key make one run; the key with another body is refused', async () => {
    await workflow('once', [{ id: 'mail', type: 'send', channels: ['email'], template: 'alert' }]);
    const u = await user('wf-idem');
    const first = await triggerWorkflow(deps, t.appId, 'once', { userIds: [u], data: { severity: 'a' }, idempotencyKey: 'k-1' });
    const second = await triggerWorkflow(deps, t.appId, 'once', { userIds: [u], data: { severity: 'a' }, idempotencyKey: 'k-1' });
    expect(second.replayed).toBe(true);
    expect(second.response.runs).toEqual(first.response.runs);
    expect(await t.db.prisma.workflowRun.count({ where: { appId: t.appId, userId: u } })).toBe(1);
    const other = triggerWorkflow(deps, t.appId, 'once', { userIds: [u], data: { severity: 'b' }, idempotencyKey: 'k-1' });
    await expect(other).rejects.toBeInstanceOf(AppError);
    await expect(other).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    await settled(first.response.runs[0]!.id);
    await sleep(300);
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: u } })).toBe(1);
  });
});

describe('at-least-once step jobs', () => {
  it('a retried or duplicate step job creates nothing twice', async () => {
    await workflow('dup', [{ id: 'mail', type: 'send', channels: ['email'], template: 'alert' }]);
    const u = await user('wf-dup');
    // No workflow worker for this queue: the jobs are run here, by hand.
    const paused = { ...deps, workflows: { addBulk: async () => [] } as unknown as Queue<WorkflowStepJob> };
    const { runs } = (await triggerWorkflow(paused, t.appId, 'dup', { userIds: [u], data: { severity: 'a' } })).response;
    const job = { run_id: runs[0]!.id, step_index: 0 };
    const outcomes = await Promise.all([runStep(paused, job), runStep(paused, job), runStep(paused, job)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['done', 'stale', 'stale']);
    expect((await runStep(paused, job)).outcome).toBe('stale');
    expect(await t.db.prisma.notification.count({ where: { appId: t.appId, userId: u } })).toBe(1);
    expect((await getRun(t.db, t.appId, runs[0]!.id)).status).toBe('completed');
  });

  it('the sweep re-adds the job of a run whose step is overdue (a job lost with Redis)', async () => {
    await workflow('lost', [{ id: 'mail', type: 'send', channels: ['email'], template: 'alert' }]);
    const u = await user('wf-lost');
    const lost = { ...deps, workflows: { addBulk: async () => [] } as unknown as Queue<WorkflowStepJob> };
    const { runs } = (await triggerWorkflow(lost, t.appId, 'lost', { userIds: [u], data: { severity: 'a' } })).response;
    await sleep(300);
    expect((await getRun(t.db, t.appId, runs[0]!.id)).status).toBe('running');
    const swept = await sweepOutbox({ pool: t.db.pool, redis: t.redis, queues: t.queues, workflows, retry: deps.retry, log: t.log }, { graceMs: 100 });
    expect(swept?.readded).toBeGreaterThanOrEqual(1);
    expect((await settled(runs[0]!.id)).status).toBe('completed');
  });
});
