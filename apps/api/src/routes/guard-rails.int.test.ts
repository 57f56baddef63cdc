// Guard rails of mass sends: dry runs (planned like the real send, writing nothing), the confirmation threshold, and cancelling a batch.
import { fanoutStep } from '@notify/core/notifications';
import type { Batch, BatchCancel, DryRun } from '@notify/core/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
/** Subscribers of `mixed`: one each way a delivery ends, per channel. */
const MIXED = ['m-all', 'm-no-email', 'm-opted-out', 'm-erased', 'm-unknown'];

beforeAll(async () => {
  // A threshold of 5 stands for the 10,000 default: the topic below has 6 subscribers.
  t = await createTestApp({ FANOUT_CONFIRM_THRESHOLD: '5' });
  const app = t.appId;
  await t.db.prisma.user.createMany({
    data: [
      { appId: app, id: 'm-all', email: 'all@example.com' },
      { appId: app, id: 'm-no-email' },
      { appId: app, id: 'm-opted-out', email: 'out@example.com' },
    ],
  });
  await t.db.prisma.preference.create({ data: { appId: app, userId: 'm-opted-out', category: 'marketing', channel: 'email', enabled: false } });
  await t.db.prisma.erasedUser.create({ data: { appId: app, userId: 'm-erased' } });
  await t.call('POST', '/topics/mixed/subscribers', { user_ids: MIXED });
  await t.call('POST', '/topics/six/subscribers', { user_ids: ['s-1', 's-2', 's-3', 's-4', 's-5', 's-6'] });
});
afterAll(() => t?.close());

const SEND = { message: 'Spring sale', channels: ['email', 'in_app'], category: 'marketing' };

/** What a dry run leaves untouched: rows that a send writes, and jobs it adds. */
async function footprint() {
  const { rows } = await t.db.pool.query<{ notifications: number; deliveries: number; batches: number }>(
    'SELECT (SELECT count(*)::int FROM notifications) AS notifications, (SELECT count(*)::int FROM deliveries) AS deliveries, (SELECT count(*)::int FROM batches) AS batches',
  );
  const jobs = await Promise.all([...Object.values(t.queues), t.deps.fanout].map((q) => q.getJobCountByTypes('waiting', 'delayed', 'prioritized', 'active')));
  return { ...rows[0], jobs: jobs.reduce((a, b) => a + b, 0) };
}

/** The batch's deliveries per channel, as the dry run counts them. */
async function createdByChannel(batchId: string): Promise<DryRun['deliveries']> {
  const { rows } = await t.db.pool.query<{ channel: 'email' | 'in_app'; queued: number; skipped: number }>(
    `SELECT d.channel, count(*) FILTER (WHERE d.status = 'queued')::int AS queued, count(*) FILTER (WHERE d.status = 'skipped')::int AS skipped
     FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.batch_id = $1 GROUP BY d.channel`,
    [batchId],
  );
  return Object.fromEntries(rows.map((r) => [r.channel, { queued: r.queued, skipped: r.skipped }]));
}

/** Runs a topic fan-out to the end in this process, as the worker's fan-out job does. */
async function fanOut(batchId: string): Promise<void> {
  while (await fanoutStep(t.deps, batchId));
}

describe('dry run', () => {
  it("a topic send's dry run counts recipients and deliveries per channel as the real send then creates them, writing nothing", async () => {
    const before = await footprint();
    const res = await t.call('POST', '/notifications', { topic: 'mixed', ...SEND, dry_run: true });
    expect(res.status).toBe(200);
    const dry = await json<DryRun>(res);
    // email: m-all only (no contact, opted out of marketing, erased, unknown user); in_app: everyone not erased.
    expect(dry).toEqual({ dry_run: true, recipients: 5, deliveries: { email: { queued: 1, skipped: 4 }, in_app: { queued: 4, skipped: 1 } } });
    expect(await footprint()).toEqual(before);

    const sent = await t.call('POST', '/notifications', { topic: 'mixed', ...SEND });
    expect(sent.status).toBe(202);
    const batch = await json<Batch>(sent);
    await fanOut(batch.id);
    expect((await json<Batch>(await t.call('GET', `/batches/${batch.id}`))).notifications).toBe(dry.recipients);
    expect(await createdByChannel(batch.id)).toEqual(dry.deliveries);
  });

  it("a bulk send's dry run matches the batch the real send creates, and writes nothing", async () => {
    const body = { ...SEND, recipients: MIXED.map((user_id) => ({ user_id })) };
    const before = await footprint();
    const res = await t.call('POST', '/notifications/bulk', { ...body, dry_run: true });
    expect(res.status).toBe(200);
    const dry = await json<DryRun>(res);
    expect(dry.recipients).toBe(5);
    expect(await footprint()).toEqual(before);

    const sent = await t.call('POST', '/notifications/bulk', body);
    expect(sent.status).toBe(202);
    const batch = await json<Batch>(sent);
    expect(batch.notifications).toBe(dry.recipients);
    expect(await createdByChannel(batch.id)).toEqual(dry.deliveries);
  });

  it('refuses in a dry run what the send would refuse: an unknown topic (404), a repeated bulk recipient (422)', async () => {
    expect((await t.call('POST', '/notifications', { topic: 'nope', ...SEND, dry_run: true })).status).toBe(404);
    const repeated = await t.call('POST', '/notifications/bulk', { ...SEND, dry_run: true, recipients: [{ user_id: 'a' }, { user_id: 'a' }] });
    expect(repeated.status).toBe(422);
  });

  it('is only for topic and bulk sends (422 on a send to one user)', async () => {
    const res = await t.call('POST', '/notifications', { user_id: 'm-all', ...SEND, dry_run: true });
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.details?.[0]?.path).toBe('dry_run');
  });
});

describe('confirmation threshold', () => {
  it('refuses a topic send over the threshold without confirm_recipients, or with another number, and accepts the right one', async () => {
    const before = await footprint();
    const bare = await t.call('POST', '/notifications', { topic: 'six', ...SEND });
    expect(bare.status).toBe(422);
    const bareError = (await json<ErrorJson>(bare)).error;
    expect(bareError.message).toContain('"confirm_recipients": 6');
    expect(bareError.details?.[0]?.path).toBe('confirm_recipients');

    const wrong = await t.call('POST', '/notifications', { topic: 'six', ...SEND, confirm_recipients: 60 });
    expect(wrong.status).toBe(422);
    expect((await json<ErrorJson>(wrong)).error.message).toContain('confirm_recipients is 60 but this send reaches 6 recipients');
    expect(await footprint()).toEqual(before);

    const count = (await json<DryRun>(await t.call('POST', '/notifications', { topic: 'six', ...SEND, dry_run: true }))).recipients;
    const confirmed = await t.call('POST', '/notifications', { topic: 'six', ...SEND, confirm_recipients: count });
    expect(confirmed.status).toBe(202);
    expect(await json<Batch>(confirmed)).toMatchObject({ kind: 'topic', status: 'creating' });
  });

  it('does the same for a bulk send; under the threshold no confirmation is needed, but a wrong one is still refused', async () => {
    const six = { ...SEND, recipients: ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6'].map((user_id) => ({ user_id })) };
    expect((await t.call('POST', '/notifications/bulk', six)).status).toBe(422);
    expect((await t.call('POST', '/notifications/bulk', { ...six, confirm_recipients: 5 })).status).toBe(422);
    expect((await t.call('POST', '/notifications/bulk', { ...six, confirm_recipients: 6 })).status).toBe(202);
    const two = { ...SEND, recipients: [{ user_id: 'c-7' }, { user_id: 'c-8' }] };
    expect((await t.call('POST', '/notifications/bulk', { ...two, confirm_recipients: 3 })).status).toBe(422);
    expect((await t.call('POST', '/notifications/bulk', two)).status).toBe(202);
  });

  it('answers a retry of a confirmed, keyed topic send with its first response, though the audience changed in between', async () => {
    await t.call('POST', '/topics/grows/subscribers', { user_ids: ['g-1', 'g-2', 'g-3', 'g-4', 'g-5', 'g-6'] });
    const send = { topic: 'grows', ...SEND, confirm_recipients: 6 };
    const headers = { 'Idempotency-Key': 'grows-launch' };
    const first = await t.call('POST', '/notifications', send, headers);
    expect(first.status).toBe(202);
    const batch = await json<Batch>(first);

    // A seventh subscriber: the confirmation no longer matches the audience, but the retry is of a send already made.
    await t.call('POST', '/topics/grows/subscribers', { user_ids: ['g-7'] });
    const retry = await t.call('POST', '/notifications', send, headers);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('Idempotency-Replay')).toBe('true');
    expect((await json<Batch>(retry)).id).toBe(batch.id);
    // A new send (no key) with the old confirmation is refused, naming the new count.
    const fresh = await t.call('POST', '/notifications', send);
    expect(fresh.status).toBe(422);
    expect((await json<ErrorJson>(fresh)).error.message).toContain('reaches 7 recipients');
  });

  it('answers a retry of a confirmed, keyed bulk send with its first batch', async () => {
    const six = { ...SEND, recipients: ['r-1', 'r-2', 'r-3', 'r-4', 'r-5', 'r-6'].map((user_id) => ({ user_id })), confirm_recipients: 6 };
    const headers = { 'Idempotency-Key': 'six-bulk' };
    const first = await json<Batch>(await t.call('POST', '/notifications/bulk', six, headers));
    const retry = await t.call('POST', '/notifications/bulk', six, headers);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('Idempotency-Replay')).toBe('true');
    expect((await json<Batch>(retry)).id).toBe(first.id);
  });
});

describe('POST /batches/{id}/cancel', () => {
  it("cancels a bulk batch's queued deliveries and removes their jobs; a second cancel is 409", async () => {
    const recipients = Array.from({ length: 40 }, (_, i) => ({ user_id: `k-${i}` }));
    const batch = await json<Batch>(await t.call('POST', '/notifications/bulk', { message: 'x', channels: ['in_app'], recipients, confirm_recipients: 40 }));
    const jobsBefore = await t.queues.in_app.count();
    const res = await t.call('POST', `/batches/${batch.id}/cancel`);
    expect(res.status).toBe(200);
    const body = await json<BatchCancel>(res);
    expect(body).toMatchObject({
      fanout_stopped: false,
      cancelled_deliveries: 40,
      batch: { status: 'cancelled', complete: true, by_status: { cancelled: 40 }, deliveries: { cancelled: 40, queued: 0 } },
    });
    expect(await t.queues.in_app.count()).toBe(jobsBefore - 40);

    const again = await t.call('POST', `/batches/${batch.id}/cancel`);
    expect(again.status).toBe(409);
    expect((await json<ErrorJson>(again)).error.code).toBe('conflict');
  });

  it('stops a topic fan-out between chunks: what was created is cancelled, nothing more is created', async () => {
    const sent = await json<Batch>(await t.call('POST', '/notifications', { topic: 'mixed', ...SEND }));
    // The first chunk (all 5 subscribers) is written, the fan-out has not seen the end yet: still creating.
    expect(await fanoutStep(t.deps, sent.id)).toBe(true);
    const res = await t.call('POST', `/batches/${sent.id}/cancel`);
    expect(res.status).toBe(200);
    const body = await json<BatchCancel>(res);
    // Queued: m-all's email and in_app for the four not erased.
    expect(body).toMatchObject({ fanout_stopped: true, cancelled_deliveries: 5, batch: { status: 'cancelled', notifications: 5 } });
    expect(await fanoutStep(t.deps, sent.id)).toBe(false);
    expect((await json<Batch>(await t.call('GET', `/batches/${sent.id}`))).status).toBe('cancelled');
  });

  it('answers 409 for a finished batch and 404 for an unknown one', async () => {
    const batch = await json<Batch>(await t.call('POST', '/notifications/bulk', { message: 'x', channels: ['email'], recipients: [{ user_id: 'm-no-email' }] }));
    // Its only delivery was skipped (no email address): nothing is left to stop.
    expect((await t.call('POST', `/batches/${batch.id}/cancel`)).status).toBe(409);
    expect((await t.call('POST', '/batches/01a2090a-ffb7-76ef-a7a9-5f1f9dc95241/cancel')).status).toBe(404);
    expect((await t.call('POST', '/batches/nope/cancel')).status).toBe(404);
  });
});
