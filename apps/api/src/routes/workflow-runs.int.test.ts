import { createKey, ensureApp } from '@notify/core/access';
import { subscribe } from '@notify/core/audience';
import type { WorkflowRun, WorkflowRunPage, WorkflowTrigger } from '@notify/core/schemas';
import { triggerWorkflow, workflowFanoutStep } from '@notify/core/workflows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHeader, createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

// No worker here: runs stay at their first step, which is what the API answers about.
let t: TestApp;
let theirs: { authorization: string };
beforeAll(async () => {
  t = await createTestApp();
  theirs = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'other-workflow-runs'), 'other')).key}` };
  expect((await t.call('POST', '/templates', { key: 'ping', locales: { en: { email: { subject: 'Ping', text: 'Ping {{ n }}' } } } })).status).toBe(201);
  const steps = [
    { id: 'wait', type: 'delay', duration: '1h' },
    { id: 'mail', type: 'send', channels: ['email'], template: 'ping' },
  ];
  expect((await t.call('POST', '/workflows', { key: 'pinger', steps })).status).toBe(201);
});
afterAll(() => t?.close());

const runCount = () => t.db.prisma.workflowRun.count({ where: { appId: t.appId } });
const written = async () => [await runCount(), await t.db.prisma.batch.count({ where: { appId: t.appId } }), await t.deps.fanout.count()];

/** A refused trigger: the status, its error code, and no run, batch or fan-out job written. */
async function refused(res: Promise<Response>, status: number, code: string) {
  const before = await written();
  const r = await res;
  expect(r.status).toBe(status);
  const body = await json<ErrorJson>(r);
  expect(body.error.code).toBe(code);
  expect(await written()).toEqual(before);
  return body.error;
}

/** What the fan-out worker does with a topic trigger's job: every chunk, until the batch is done. */
async function fanOut(batchId: string): Promise<number> {
  let chunks = 0;
  while (await workflowFanoutStep(t.deps, batchId)) chunks++;
  return chunks;
}

/** Every run of a trigger, through GET /workflows/{key}/runs. */
async function runsOf(triggerId: string): Promise<WorkflowRunPage['data']> {
  const all: WorkflowRunPage['data'] = [];
  let cursor: string | null = null;
  do {
    const page: WorkflowRunPage = await json<WorkflowRunPage>(await t.call('GET', `/workflows/pinger/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`));
    all.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return all.filter((r) => r.trigger_id === triggerId);
}

describe('POST /workflows/{key}/trigger', () => {
  it('answers 202 with a run per user, each readable with its steps', async () => {
    const res = await t.call('POST', '/workflows/pinger/trigger', { user_ids: ['tr-1', 'tr-2'], data: { n: 1 } });
    expect(res.status).toBe(202);
    const body = await json<WorkflowTrigger>(res);
    expect(body).toMatchObject({ workflow: 'pinger', version: 1, topic: null, count: 2 });
    expect(body.runs.map((r) => r.user_id)).toEqual(['tr-1', 'tr-2']);
    const run = await json<WorkflowRun>(await t.call('GET', `/workflow-runs/${body.runs[0]!.id}`));
    expect(run).toMatchObject({ id: body.runs[0]!.id, workflow: 'pinger', user_id: 'tr-1', status: 'running', current_step: 'wait', data: { n: 1 }, trigger_id: body.id });
    expect(run.steps.map((s) => [s.id, s.type, s.status])).toEqual([
      ['wait', 'delay', 'pending'],
      ['mail', 'send', 'pending'],
    ]);
  });

  it('a topic trigger answers a fan-out under way; its job starts a run for each subscriber', async () => {
    await subscribe(t.db, t.appId, 'pingers', ['tp-1', 'tp-2', 'tp-3']);
    const res = await t.call('POST', '/workflows/pinger/trigger', { topic: 'pingers', data: { n: 2 } });
    expect(res.status).toBe(202);
    const body = await json<WorkflowTrigger>(res);
    expect(body).toMatchObject({ workflow: 'pinger', version: 1, topic: 'pingers', status: 'creating', count: 0, runs: [] });
    expect(await t.deps.fanout.getJob(body.id)).toBeDefined();
    expect(await runsOf(body.id)).toEqual([]);
    expect(await fanOut(body.id)).toBe(1);
    const runs = await runsOf(body.id);
    expect(runs.map((r) => r.user_id).sort()).toEqual(['tp-1', 'tp-2', 'tp-3']);
    const run = await json<WorkflowRun>(await t.call('GET', `/workflow-runs/${runs[0]!.id}`));
    expect(run).toMatchObject({ status: 'running', current_step: 'wait', data: { n: 2 }, trigger_id: body.id, version: 1 });
    expect(run.steps).toHaveLength(2);
    // Each run's first step job was added by the chunk that made it.
    expect(await t.deps.workflows.count()).toBeGreaterThanOrEqual(3);
    expect(await t.db.prisma.batch.findUnique({ where: { id: body.id } })).toMatchObject({ kind: 'workflow', status: 'created', created: 3 });
  });

  it('a topic of 1,500 subscribers triggered once makes 1,500 runs, and a chunk done again makes none twice', async () => {
    await subscribe(
      t.db,
      t.appId,
      'crowd',
      Array.from({ length: 1500 }, (_, i) => `crowd-${String(i).padStart(4, '0')}`),
    );
    const body = await json<WorkflowTrigger>(await t.call('POST', '/workflows/pinger/trigger', { topic: 'crowd' }));
    expect(body).toMatchObject({ status: 'creating', count: 0 });
    expect(await fanOut(body.id)).toBe(2);
    const count = () => t.db.prisma.workflowRun.count({ where: { batchId: body.id } });
    expect(await count()).toBe(1500);
    expect(new Set((await runsOf(body.id)).map((r) => r.user_id)).size).toBe(1500);
    const steps = await t.db.prisma.workflowRunStep.count({ where: { run: { batchId: body.id } } });
    expect(steps).toBe(3000);
    // A chunk whose cursor was lost (a job retried after its work committed) is done again: no second run for anyone.
    await t.db.pool.query(`UPDATE batches SET status = 'creating', cursor = NULL WHERE id = $1`, [body.id]);
    expect(await fanOut(body.id)).toBe(2);
    expect(await count()).toBe(1500);
    expect(await t.db.prisma.workflowRunStep.count({ where: { run: { batchId: body.id } } })).toBe(3000);
    expect(await t.db.prisma.batch.findUnique({ where: { id: body.id } })).toMatchObject({ status: 'created', created: 1500 });
  });

  it('a topic trigger with an Idempotency-Key, sent twice, answers the same batch and fans out once', async () => {
    await subscribe(t.db, t.appId, 'pingers-once', ['po-1', 'po-2']);
    const headers = { 'idempotency-key': 'topic-trigger-once' };
    const first = await json<WorkflowTrigger>(await t.call('POST', '/workflows/pinger/trigger', { topic: 'pingers-once' }, headers));
    const again = await t.call('POST', '/workflows/pinger/trigger', { topic: 'pingers-once' }, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(await json<WorkflowTrigger>(again)).toEqual(first);
    expect(await t.db.prisma.batch.count({ where: { appId: t.appId, topicKey: 'pingers-once' } })).toBe(1);
    await fanOut(first.id);
    expect((await runsOf(first.id)).map((r) => r.user_id).sort()).toEqual(['po-1', 'po-2']);
    await refused(t.call('POST', '/workflows/pinger/trigger', { topic: 'pingers' }, headers), 422, 'idempotency_key_reused');
  });

  it('with one Idempotency-Key, two triggers make one run and the second answers the first', async () => {
    const headers = { 'idempotency-key': 'trigger-once' };
    const first = await t.call('POST', '/workflows/pinger/trigger', { user_id: 'idem-1' }, headers);
    const second = await t.call('POST', '/workflows/pinger/trigger', { user_id: 'idem-1' }, headers);
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotency-replay')).toBe('true');
    expect(await json<WorkflowTrigger>(second)).toEqual(await json<WorkflowTrigger>(first));
    expect(await t.db.prisma.workflowRun.count({ where: { appId: t.appId, userId: 'idem-1' } })).toBe(1);
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_id: 'idem-2' }, headers), 422, 'idempotency_key_reused');
  });

  it('refuses, writing nothing: an unknown workflow or topic, no or two audiences, repeated users, more than 1,000 users, another app', async () => {
    await refused(t.call('POST', '/workflows/nope/trigger', { user_id: 'x' }), 404, 'not_found');
    await refused(t.call('POST', '/workflows/pinger/trigger', { topic: 'no-such-topic' }), 404, 'not_found');
    await refused(t.call('POST', '/workflows/pinger/trigger', { data: {} }), 422, 'validation_failed');
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_id: 'x', topic: 'pingers' }), 422, 'validation_failed');
    const dupes = await refused(t.call('POST', '/workflows/pinger/trigger', { user_ids: ['a', 'b', 'a'] }), 422, 'validation_failed');
    expect(dupes.details).toContainEqual({ path: 'user_ids.2', message: 'repeats user a' });
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }), 422, 'validation_failed');
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_id: 'x', extra: 1 }), 422, 'validation_failed');
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_id: 'x' }, theirs), 404, 'not_found');
  });

  it('guards a topic trigger as topic sends: confirm_recipients must be the subscriber count, and is needed over the threshold', async () => {
    await subscribe(t.db, t.appId, 'guarded', ['g-1', 'g-2', 'g-3']);
    const wrong = await refused(t.call('POST', '/workflows/pinger/trigger', { topic: 'guarded', confirm_recipients: 2 }), 422, 'validation_failed');
    expect(wrong.details).toContainEqual({ path: 'confirm_recipients', message: 'must be 3, the number of recipients' });
    await refused(t.call('POST', '/workflows/pinger/trigger', { user_id: 'x', confirm_recipients: 1 }), 422, 'validation_failed');
    // FANOUT_CONFIRM_THRESHOLD is 10,000 here: a threshold of 2 refuses 3 subscribers unconfirmed, and takes them confirmed.
    const before = await written();
    const trigger = (confirm?: number) => triggerWorkflow(t.deps, t.appId, 'pinger', { topic: 'guarded', audience: { threshold: 2, confirm_recipients: confirm } });
    await expect(trigger()).rejects.toMatchObject({ code: 'validation_failed', details: [{ path: 'confirm_recipients', message: 'required over 2 recipients' }] });
    expect(await written()).toEqual(before);
    const { response } = await trigger(3);
    expect(response.status).toBe('creating');
    const ok = await t.call('POST', '/workflows/pinger/trigger', { topic: 'guarded', confirm_recipients: 3 });
    expect(ok.status).toBe(202);
  });
});

describe('workflow runs', () => {
  it("lists a user's runs and a workflow's runs, newest first, a page at a time", async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await json<WorkflowTrigger>(await t.call('POST', '/workflows/pinger/trigger', { user_id: 'lister' }))).runs[0]!.id);
    const first = await json<WorkflowRunPage>(await t.call('GET', '/users/lister/workflow-runs?limit=2'));
    expect(first.data.map((r) => r.id)).toEqual([made[2], made[1]]);
    const second = await json<WorkflowRunPage>(await t.call('GET', `/users/lister/workflow-runs?limit=2&cursor=${first.next_cursor}`));
    expect(second).toEqual({ data: [expect.objectContaining({ id: made[0] })], next_cursor: null });
    const ofWorkflow = await json<WorkflowRunPage>(await t.call('GET', '/workflows/pinger/runs?limit=1'));
    expect(ofWorkflow.data[0]?.id).toBe(made[2]);
    expect((await json<WorkflowRunPage>(await t.call('GET', '/users/lister/workflow-runs?status=cancelled'))).data).toEqual([]);
    expect((await t.call('GET', '/users/lister/workflow-runs?cursor=nope')).status).toBe(400);
    expect((await t.call('GET', '/workflows/nope/runs')).status).toBe(404);
    expect((await json<WorkflowRunPage>(await t.call('GET', '/users/lister/workflow-runs', undefined, theirs))).data).toEqual([]);
    // The dashboard's user timeline lists them too.
    const timeline = await json<{ runs: WorkflowRunPage['data'] }>(
      await t.call('GET', `/dashboard/api/timeline?app=${t.appId}&q=lister`, undefined, { authorization: adminHeader }),
    );
    expect(timeline.runs.map((r) => r.id)).toEqual([made[2], made[1], made[0]]);
  });

  it("cancels a running run (its steps never run), then answers 409; unknown ids and other apps' runs are 404", async () => {
    const { runs } = await json<WorkflowTrigger>(await t.call('POST', '/workflows/pinger/trigger', { user_id: 'canceller' }));
    const id = runs[0]!.id;
    expect((await t.call('POST', `/workflow-runs/${id}/cancel`, undefined, theirs)).status).toBe(404);
    const res = await t.call('POST', `/workflow-runs/${id}/cancel`);
    expect(res.status).toBe(200);
    const run = await json<WorkflowRun>(res);
    expect(run).toMatchObject({ status: 'cancelled', reason: 'cancelled', current_step: null, next_at: null });
    expect(run.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect(await t.db.prisma.auditEvent.count({ where: { appId: t.appId, action: 'workflow_run.cancelled', targetId: id } })).toBe(1);
    const again = await t.call('POST', `/workflow-runs/${id}/cancel`);
    expect(again.status).toBe(409);
    expect((await json<ErrorJson>(again)).error.code).toBe('conflict');
    expect(await t.db.prisma.auditEvent.count({ where: { appId: t.appId, action: 'workflow_run.cancelled', targetId: id } })).toBe(1);
    expect((await t.call('GET', `/workflow-runs/${id}`, undefined, theirs)).status).toBe(404);
    expect((await t.call('GET', '/workflow-runs/not-a-uuid')).status).toBe(404);
    expect((await t.call('GET', '/workflow-runs/01a231d9-b0bf-77e5-a463-4d2649e04341')).status).toBe(404);
    expect((await t.call('POST', '/workflow-runs/01a231d9-b0bf-77e5-a463-4d2649e04341/cancel')).status).toBe(404);
  });
});
