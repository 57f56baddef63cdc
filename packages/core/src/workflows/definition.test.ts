// biome-ignore-all lint/suspicious/noThenProperty: `then` is a branch step's field; steps are data, never awaited
import { describe, expect, it } from 'vitest';
import { durationSeconds, WorkflowBody, type WorkflowStep } from '../schemas/workflows.js';
import { definitionProblems, digestKeyPath, normalizeDefinition, successors, type DefinitionCatalog } from './definition.js';

const CATALOG: DefinitionCatalog = {
  templateChannels: (key) => (key === 'new_comment' ? ['in_app', 'email'] : undefined),
  categoryExists: (key) => key === 'social',
};
const problems = (steps: WorkflowStep[]) => definitionProblems(steps, CATALOG);
const paths = (steps: WorkflowStep[]) => problems(steps).map((p) => p.path);

const inbox: WorkflowStep = { id: 'inbox', type: 'send', channels: ['in_app'], template: 'new_comment' };
const wait: WorkflowStep = { id: 'wait', type: 'delay', duration: '15m' };
const mail: WorkflowStep = { id: 'mail', type: 'send', channels: ['email'], message: 'You have a new comment' };
const unread = (more: Partial<Extract<WorkflowStep, { type: 'branch' }>> = {}): WorkflowStep => ({
  id: 'unread',
  type: 'branch',
  if: { step: 'inbox', is: 'not_read' },
  ...more,
});

describe('definitionProblems', () => {
  it('accepts the in-app, delay, email-if-unread flow', () => {
    expect(problems([inbox, wait, unread(), mail])).toEqual([]);
  });

  it('names a duplicate id at its second use', () => {
    expect(problems([inbox, wait, { ...wait }])).toEqual([{ path: 'steps.2.id', message: 'duplicate id: steps.1 is also "wait"' }]);
  });

  it('reserves "end" for the end of a run', () => {
    expect(paths([{ ...wait, id: 'end' }])).toEqual(['steps.0.id']);
  });

  it('refuses a template the app does not have', () => {
    expect(problems([{ ...inbox, template: 'nope' }])).toEqual([{ path: 'steps.0.template', message: 'no template "nope" in this app' }]);
  });

  it('refuses channels the template has no content for, and an unknown category', () => {
    expect(problems([{ ...inbox, channels: ['in_app', 'sms', 'push'], category: 'social' }])).toEqual([
      { path: 'steps.0.channels', message: 'template new_comment has no content for sms, push' },
    ]);
    expect(paths([{ ...mail, category: 'nope' }])).toEqual(['steps.0.category']);
  });

  it('refuses a branch on a step that is unknown, later, itself, or not a send', () => {
    expect(paths([inbox, unread({ if: { step: 'ghost', is: 'read' } }), mail])).toEqual(['steps.1.if.step']);
    expect(paths([unread({ if: { step: 'mail', is: 'read' } }), mail])).toEqual(['steps.0.if.step']);
    expect(paths([inbox, unread({ if: { step: 'unread', is: 'read' } }), mail])).toEqual(['steps.1.if.step']);
    const [p] = problems([inbox, wait, unread({ if: { step: 'wait', is: 'read' } }), mail]);
    expect(p).toEqual({ path: 'steps.2.if.step', message: '"wait" is a delay step; a branch can look only at a send step' });
  });

  it('refuses a jump to an unknown, earlier or the same step', () => {
    expect(paths([inbox, unread({ then: 'ghost' }), mail])).toEqual(['steps.1.then']);
    expect(paths([inbox, wait, unread({ else: 'wait' }), mail])).toEqual(['steps.2.else']);
    expect(paths([inbox, unread({ then: 'unread' }), mail])).toEqual(['steps.1.then']);
  });

  it('accepts jumps forward and to the end', () => {
    expect(problems([inbox, unread({ then: 'mail', else: 'wait' }), wait, mail])).toEqual([]);
    expect(problems([inbox, unread({ then: 'end', else: 'wait' }), wait, mail])).toEqual([]);
  });

  it('names a step no path reaches, and only those', () => {
    // then skips `wait`, else ends: nothing reaches wait.
    expect(problems([inbox, unread({ then: 'mail' }), wait, mail])).toEqual([{ path: 'steps.2', message: '"wait" is unreachable: no path from the first step leads to it' }]);
    // then and else both end: everything after is unreachable.
    expect(paths([inbox, unread({ then: 'end' }), wait, mail])).toEqual(['steps.2', 'steps.3']);
    // A step reached only from an unreachable one is unreachable too.
    const side: WorkflowStep = { id: 'side', type: 'branch', if: { field: 'data.x', op: 'exists' }, then: 'mail', else: 'mail' };
    expect(paths([inbox, unread({ then: 'end' }), side, wait, mail])).toEqual(['steps.2', 'steps.3', 'steps.4']);
  });

  it('lists every problem at once', () => {
    expect(paths([{ ...inbox, template: 'nope' }, { ...inbox }, unread({ then: 'ghost' })])).toEqual(['steps.0.template', 'steps.1.id', 'steps.2.then']);
  });
});

describe('successors', () => {
  it('follows the next step, or a branch’s then (default next) and else (default end)', () => {
    const steps = [inbox, unread(), mail];
    expect(successors(steps, 0)).toEqual([1]);
    expect(successors(steps, 1)).toEqual([2, 3]);
    expect(successors([inbox, unread({ then: 'end', else: 'mail' }), wait, mail], 1)).toEqual([4, 3]);
    expect(successors(steps, 2)).toEqual([3]);
  });
});

describe('digest keys', () => {
  it('stores a Liquid-style key as its plain path', () => {
    expect(digestKeyPath('{{ data.post_id }}')).toBe('data.post_id');
    expect(digestKeyPath('{{data.post.id}}')).toBe('data.post.id');
    expect(digestKeyPath('data.post_id')).toBe('data.post_id');
    const body = normalizeDefinition({ steps: [{ id: 'collect', type: 'digest', window: '10m', key: '{{ data.post_id }}' }, mail] });
    expect(body.steps[0]).toEqual({ id: 'collect', type: 'digest', window: '10m', key: 'data.post_id' });
  });
});

describe('WorkflowBody (the JSON shape)', () => {
  const issues = (steps: unknown[]) => WorkflowBody.safeParse({ steps }).error?.issues.map((i) => i.path.join('.')) ?? [];

  it('reads durations from 1 s to 30 d', () => {
    expect(durationSeconds('15m')).toBe(900);
    expect(durationSeconds('1d')).toBe(86_400);
    expect(durationSeconds('15')).toBeNull();
    expect(durationSeconds('1.5h')).toBeNull();
    expect(issues([{ id: 'w', type: 'delay', duration: '30d' }])).toEqual([]);
    expect(issues([{ id: 'w', type: 'delay', duration: '31d' }])).toEqual(['steps.0.duration']);
    expect(issues([{ id: 'w', type: 'delay', duration: '0s' }])).toEqual(['steps.0.duration']);
    expect(issues([{ id: 'w', type: 'delay', until: '24:00' }])).toEqual(['steps.0.until']);
  });

  it('wants exactly one of duration/until, window/until, template/message', () => {
    expect(issues([{ id: 'w', type: 'delay' }])).toEqual(['steps.0.duration']);
    expect(issues([{ id: 'w', type: 'delay', duration: '1m', until: '09:00' }])).toEqual(['steps.0.duration']);
    expect(issues([{ id: 'd', type: 'digest', window: '1m', until: '09:00' }])).toEqual(['steps.0.window']);
    expect(issues([{ id: 's', type: 'send', channels: ['email'] }])).toEqual(['steps.0.template']);
  });

  it('refuses unknown step types and fields, bad ids, repeated channels', () => {
    expect(issues([{ id: 'x', type: 'wait' }])).toEqual(['steps.0.type']);
    expect(issues([{ ...wait, extra: true }])).toEqual(['steps.0']);
    expect(issues([{ ...wait, id: 'Wait!' }])).toEqual(['steps.0.id']);
    expect(issues([{ ...mail, channels: ['email', 'email'] }])).toEqual(['steps.0.channels']);
    expect(issues([{ ...mail, channels: [] }])).toEqual(['steps.0.channels']);
  });

  it('wants a value with comparisons and none with exists', () => {
    const branch = (cond: unknown) => [inbox, { id: 'b', type: 'branch', if: cond }];
    expect(issues(branch({ field: 'data.severity', op: 'eq', value: 'high' }))).toEqual([]);
    expect(issues(branch({ field: 'user.timezone', op: 'exists' }))).toEqual([]);
    expect(issues(branch({ field: 'data.severity', op: 'eq' }))).toEqual(['steps.1.if.value']);
    expect(issues(branch({ field: 'data.severity', op: 'exists', value: 1 }))).toEqual(['steps.1.if.value']);
    expect(issues(branch({ field: 'user.password', op: 'exists' }))).not.toEqual([]);
  });

  it('wants 1 to 50 steps', () => {
    expect(issues([])).toEqual(['steps']);
    expect(issues(Array.from({ length: 51 }, (_, i) => ({ id: `w${i}`, type: 'delay', duration: '1s' })))).toEqual(['steps']);
    expect(issues(Array.from({ length: 50 }, (_, i) => ({ id: `w${i}`, type: 'delay', duration: '1s' })))).toEqual([]);
  });
});
