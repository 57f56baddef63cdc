// biome-ignore-all lint/suspicious/noThenProperty: `then` is a branch step's field; steps are data, never awaited
import { createKey, ensureApp } from '@notify/core/access';
import type { AuditEventPage, Workflow, WorkflowList } from '@notify/core/schemas';
import { getWorkflowVersion } from '@notify/core/workflows';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, type ErrorJson, type TestApp } from '../testing/test-app.js';

let t: TestApp;
let theirs: { authorization: string };
beforeAll(async () => {
  t = await createTestApp();
  theirs = { authorization: `Bearer ${(await createKey(t.db, await ensureApp(t.db, 'other-workflows'), 'other')).key}` };
  const template = { key: 'new_comment', locales: { en: { in_app: { body: '{{ data.author }} commented' }, email: { subject: 'New comment', text: 'See it' } } } };
  expect((await t.call('POST', '/templates', template)).status).toBe(201);
});
afterAll(() => t?.close());

const steps = [
  { id: 'inbox', type: 'send', channels: ['in_app'], template: 'new_comment', priority: 'normal', category: 'transactional' },
  { id: 'wait', type: 'delay', duration: '15m' },
  { id: 'unread', type: 'branch', if: { step: 'inbox', is: 'not_read' }, else: 'end' },
  { id: 'mail', type: 'send', channels: ['email'], template: 'new_comment' },
];
const flow = { key: 'comment_flow', name: 'New comment', steps };

const rowCounts = async () => ({
  workflows: await t.db.prisma.workflow.count(),
  versions: await t.db.prisma.workflowVersion.count(),
  audit: await t.db.prisma.auditEvent.count({ where: { targetType: 'workflow' } }),
});

/** A refused write: the status, its error code, and nothing written. */
async function refused(res: Promise<Response>, status: number, code: string) {
  const before = await rowCounts();
  const r = await res;
  expect(r.status).toBe(status);
  const body = await json<ErrorJson>(r);
  expect(body.error.code).toBe(code);
  expect(await rowCounts()).toEqual(before);
  return body.error;
}

describe('workflows: create, read, list, version', () => {
  it('creates version 1 and reads it back, digest keys stored as plain paths', async () => {
    const res = await t.call('POST', '/workflows', flow);
    expect(res.status).toBe(201);
    const w = await json<Workflow>(res);
    expect(w).toMatchObject({ key: 'comment_flow', version: 1, latest_version: 1, name: 'New comment', description: null, steps });
    expect(await json<Workflow>(await t.call('GET', '/workflows/comment_flow'))).toEqual(w);

    const digest = { key: 'digest_flow', steps: [{ id: 'collect', type: 'digest', window: '10m', key: '{{ data.post_id }}' }, steps[0]] };
    const d = await json<Workflow>(await t.call('POST', '/workflows', digest));
    expect(d.steps[0]).toEqual({ id: 'collect', type: 'digest', window: '10m', key: 'data.post_id' });
  });

  it('refuses the same key twice (409), writing nothing', async () => {
    const e = await refused(t.call('POST', '/workflows', flow), 409, 'conflict');
    expect(e.message).toMatch(/PUT \/workflows\/comment_flow/);
  });

  it('PUT adds a version; GET answers the latest or ?version=n', async () => {
    const v2 = { name: 'New comment v2', description: 'email only', steps: [steps[3]] };
    const res = await t.call('PUT', '/workflows/comment_flow', v2);
    expect(res.status).toBe(200);
    expect(await json<Workflow>(res)).toMatchObject({ key: 'comment_flow', version: 2, latest_version: 2, description: 'email only', steps: [steps[3]] });
    expect(await json<Workflow>(await t.call('GET', '/workflows/comment_flow'))).toMatchObject({ version: 2, name: 'New comment v2' });
    expect(await json<Workflow>(await t.call('GET', '/workflows/comment_flow?version=1'))).toMatchObject({ version: 1, latest_version: 2, name: 'New comment', steps });
    expect((await t.call('GET', '/workflows/comment_flow?version=3')).status).toBe(404);
    expect((await t.call('GET', '/workflows/comment_flow?version=0')).status).toBe(422);
  });

  it('gives concurrent edits consecutive versions, and concurrent creates one workflow (the other 409)', async () => {
    const body = { key: 'raced', steps: [steps[1]] };
    const created = await Promise.all([t.call('POST', '/workflows', body), t.call('POST', '/workflows', body)]);
    expect(created.map((r) => r.status).sort()).toEqual([201, 409]);
    const edits = await Promise.all([1, 2, 3].map(() => t.call('PUT', '/workflows/raced', { steps: [steps[1]] })));
    const versions = await Promise.all(edits.map(async (r) => (await json<Workflow>(r)).version));
    expect(versions.sort()).toEqual([2, 3, 4]);
  });

  it('getWorkflowVersion gives runs the latest definition or the one they started with', async () => {
    expect(await getWorkflowVersion(t.db, t.appId, 'comment_flow')).toEqual({
      key: 'comment_flow',
      version: 2,
      name: 'New comment v2',
      description: 'email only',
      steps: [steps[3]],
    });
    expect(await getWorkflowVersion(t.db, t.appId, 'comment_flow', 1)).toMatchObject({ version: 1, steps });
    await expect(getWorkflowVersion(t.db, t.appId, 'comment_flow', 9)).rejects.toMatchObject({ code: 'not_found' });
    await expect(getWorkflowVersion(t.db, t.appId, 'nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('lists by key, a page at a time', async () => {
    for (const key of ['list_a', 'list_b', 'list_c']) expect((await t.call('POST', '/workflows', { key, steps: [steps[1]] })).status).toBe(201);
    const first = await json<WorkflowList>(await t.call('GET', '/workflows?limit=2'));
    expect(first.data.map((w) => w.key)).toEqual(['comment_flow', 'digest_flow']);
    expect(first.data[0]).toMatchObject({ latest_version: 2, name: 'New comment v2', steps: 1 });
    const rest = await json<WorkflowList>(await t.call('GET', `/workflows?limit=10&cursor=${first.next_cursor}`));
    expect(rest).toMatchObject({ data: [{ key: 'list_a' }, { key: 'list_b' }, { key: 'list_c' }, { key: 'raced', latest_version: 4, name: null, steps: 1 }], next_cursor: null });
    expect((await t.call('GET', '/workflows?cursor=')).status).toBe(400);
  });

  it('records who created and changed a workflow, with step types and no message text', async () => {
    const page = await json<AuditEventPage>(await t.call('GET', '/audit-events?target_type=workflow&target_id=comment_flow'));
    expect(page.data.map((e) => [e.action, e.summary.version, e.summary.steps])).toEqual([
      ['workflow.updated', 2, ['send']],
      ['workflow.created', 1, ['send', 'delay', 'branch', 'send']],
    ]);
    expect(page.data[0]).toMatchObject({ actor_type: 'key', summary: { fields: ['description', 'name', 'steps'] } });
    const secret = { key: 'secret_flow', steps: [{ id: 's', type: 'send', channels: ['sms'], message: 'Your code is 123456' }] };
    expect((await t.call('POST', '/workflows', secret)).status).toBe(201);
    const rows = await t.db.prisma.auditEvent.findMany({ where: { targetType: 'workflow', targetId: 'secret_flow' } });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain('123456');
  });
});

describe('workflows: refused definitions (422, nothing written)', () => {
  const send = (id: string, more: Record<string, unknown> = {}) => ({ id, type: 'send', channels: ['email'], message: 'Hi', ...more });
  it.each([
    ['an unknown step type', [{ id: 'x', type: 'sleep', duration: '1m' }], 'steps.0.type'],
    ['an unknown template', [send('s', { message: undefined, template: 'ghost' })], 'steps.0.template'],
    ['a channel the template has no content for', [send('s', { message: undefined, template: 'new_comment', channels: ['sms'] })], 'steps.0.channels'],
    ['an unknown category', [send('s', { category: 'nope' })], 'steps.0.category'],
    ['a duplicate id', [send('s'), send('s')], 'steps.1.id'],
    ['a bad duration', [{ id: 'w', type: 'delay', duration: '15 minutes' }], 'steps.0.duration'],
    ['a delay over 30 days', [{ id: 'w', type: 'delay', duration: '31d' }], 'steps.0.duration'],
    ['a delay with both duration and until', [{ id: 'w', type: 'delay', duration: '1m', until: '09:00' }], 'steps.0.duration'],
    ['a bad time of day', [{ id: 'd', type: 'digest', until: '9am' }], 'steps.0.until'],
    ['an unreachable step', [send('s'), { id: 'b', type: 'branch', if: { field: 'data.x', op: 'exists' }, then: 'end' }, send('t')], 'steps.2'],
    [
      'a jump to an earlier step',
      [send('s'), { id: 'w', type: 'delay', duration: '1m' }, { id: 'b', type: 'branch', if: { field: 'data.x', op: 'exists' }, then: 'w' }],
      'steps.2.then',
    ],
    ['a jump to an unknown step', [send('s'), { id: 'b', type: 'branch', if: { field: 'data.x', op: 'exists' }, else: 'ghost' }], 'steps.1.else'],
    ['a branch on a later step', [{ id: 'b', type: 'branch', if: { step: 's', is: 'read' } }, send('s')], 'steps.0.if.step'],
    [
      'a branch on a delay',
      [
        { id: 'w', type: 'delay', duration: '1m' },
        { id: 'b', type: 'branch', if: { step: 'w', is: 'read' } },
      ],
      'steps.1.if.step',
    ],
    ['a comparison without a value', [{ id: 'b', type: 'branch', if: { field: 'data.x', op: 'eq' } }], 'steps.0.if.value'],
    ['no steps', [], 'steps'],
    ['more than 50 steps', Array.from({ length: 51 }, (_, i) => send(`s${i}`)), 'steps'],
    ['the reserved id end', [send('end')], 'steps.0.id'],
  ])('refuses %s', async (_what, badSteps, path) => {
    for (const res of [t.call('POST', '/workflows', { key: 'bad', steps: badSteps }), t.call('PUT', '/workflows/comment_flow', { steps: badSteps })]) {
      const e = await refused(res, 422, 'validation_failed');
      expect(e.details?.map((d) => d.path)).toEqual([path]);
    }
  });

  it('refuses unknown fields and a bad key', async () => {
    await refused(t.call('POST', '/workflows', { ...flow, key: 'other', extra: 1 }), 422, 'validation_failed');
    await refused(t.call('POST', '/workflows', { ...flow, key: 'Not A Key' }), 422, 'validation_failed');
    await refused(t.call('PUT', '/workflows/comment_flow', { key: 'comment_flow', steps }), 422, 'validation_failed');
  });

  it('answers 404 for an unknown workflow, writing nothing on PUT', async () => {
    expect((await t.call('GET', '/workflows/ghost')).status).toBe(404);
    await refused(t.call('PUT', '/workflows/ghost', { steps }), 404, 'not_found');
  });
});

describe('workflows: tenancy', () => {
  it('another app sees none of ours, cannot change them, and cannot use our templates', async () => {
    const asOther = (method: string, path: string, body?: unknown) => t.call(method, path, body, theirs);
    expect((await asOther('GET', '/workflows/comment_flow')).status).toBe(404);
    expect(await json<WorkflowList>(await asOther('GET', '/workflows'))).toEqual({ data: [], next_cursor: null });
    await refused(asOther('PUT', '/workflows/comment_flow', { steps: [steps[1]] }), 404, 'not_found');
    // Our template is not theirs.
    const e = await refused(asOther('POST', '/workflows', flow), 422, 'validation_failed');
    expect(e.details?.map((d) => d.path)).toEqual(['steps.0.template', 'steps.3.template']);
    // The same key is free in their app.
    expect((await asOther('POST', '/workflows', { key: 'comment_flow', steps: [steps[1]] })).status).toBe(201);
    expect(await json<Workflow>(await t.call('GET', '/workflows/comment_flow'))).toMatchObject({ version: 2, name: 'New comment v2' });
  });
});
