// Workflow definitions: their types and the rules a definition must meet beyond its JSON shape.
import type { Channel } from '../platform/channels.js';
import type { ErrorDetail } from '../platform/errors.js';
import type { BranchStep, SendStep, WorkflowBody, WorkflowStep } from '../schemas/workflows.js';

export type { BranchStep, DelayStep, DigestStep, FieldCondition, SendStep, StepCondition, WorkflowStep } from '../schemas/workflows.js';

/** One version of a workflow, as runs execute it. */
export interface WorkflowDefinition {
  key: string;
  version: number;
  name?: string | undefined;
  description?: string | undefined;
  steps: WorkflowStep[];
}

/** Where a branch goes: `end`, or a step id. */
export const END = 'end';

/** The step indexes a step can continue to (`steps.length` for the end). */
export function successors(steps: readonly WorkflowStep[], index: number): number[] {
  const step = steps[index];
  if (!step) return [];
  const next = index + 1;
  if (step.type !== 'branch') return [next];
  return [branchTarget(steps, step, 'then', next), branchTarget(steps, step, 'else', steps.length)];
}

/** The index a branch's `then` or `else` leads to: an omitted `then` is the next step, an omitted `else` the end. */
export function branchTarget(steps: readonly WorkflowStep[], step: BranchStep, arm: 'then' | 'else', fallback: number): number {
  const target = step[arm];
  if (target === undefined) return fallback;
  if (target === END) return steps.length;
  const i = steps.findIndex((s) => s.id === target);
  return i === -1 ? steps.length : i;
}

/** The path of a digest key without Liquid braces: `{{ data.post_id }}` -> `data.post_id`. */
export function digestKeyPath(key: string): string {
  return key.replace(/^\{\{\s*/, '').replace(/\s*\}\}$/, '');
}

/** A definition as stored: digest keys as plain paths, so runs read one form. */
export function normalizeDefinition(body: WorkflowBody): WorkflowBody {
  return { ...body, steps: body.steps.map((s) => (s.type === 'digest' && s.key !== undefined ? { ...s, key: digestKeyPath(s.key) } : s)) };
}

/** What the app has that send steps name: its templates (with their channels at the latest version) and categories. */
export interface DefinitionCatalog {
  templateChannels(key: string): readonly Channel[] | undefined;
  categoryExists(key: string): boolean;
}

/**
 * What is wrong with a definition whose JSON shape is valid: duplicate or
 * reserved ids, templates or categories this app does not have (a send would
 * be refused when the run gets there), branches that look at a step that is
 * not an earlier send or jump to one that is not later, and steps no path from
 * the first one reaches. Jumps only go forward, so every run ends.
 */
export function definitionProblems(steps: readonly WorkflowStep[], catalog: DefinitionCatalog): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const firstIndex = new Map<string, number>();
  steps.forEach((step, i) => {
    const at = `steps.${i}`;
    if (step.id === END) problems.push({ path: `${at}.id`, message: `"${END}" is reserved: a branch's then/else uses it for the end of the run` });
    const earlier = firstIndex.get(step.id);
    if (earlier === undefined) firstIndex.set(step.id, i);
    else problems.push({ path: `${at}.id`, message: `duplicate id: steps.${earlier} is also "${step.id}"` });
    if (step.type === 'send') problems.push(...sendProblems(step, at, catalog));
  });
  const jumps = steps.flatMap((step, i) => (step.type === 'branch' ? branchProblems(steps, step, i, firstIndex) : []));
  problems.push(...jumps);
  // Which steps are reachable means little while a jump goes nowhere: fix the jumps first.
  if (!jumps.some((p) => p.path.endsWith('.then') || p.path.endsWith('.else'))) problems.push(...unreachable(steps));
  return problems;
}

function sendProblems(step: SendStep, at: string, catalog: DefinitionCatalog): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  if (step.template !== undefined) {
    const has = catalog.templateChannels(step.template);
    const missing = has && step.channels.filter((c) => !has.includes(c));
    if (!has) problems.push({ path: `${at}.template`, message: `no template "${step.template}" in this app` });
    else if (missing && missing.length > 0) problems.push({ path: `${at}.channels`, message: `template ${step.template} has no content for ${missing.join(', ')}` });
  }
  if (step.category !== undefined && !catalog.categoryExists(step.category)) {
    problems.push({ path: `${at}.category`, message: `unknown category; define it with PUT /categories/${step.category}` });
  }
  return problems;
}

function branchProblems(steps: readonly WorkflowStep[], step: BranchStep, i: number, ids: ReadonlyMap<string, number>): ErrorDetail[] {
  const at = `steps.${i}`;
  const problems: ErrorDetail[] = [];
  if ('step' in step.if) {
    const j = ids.get(step.if.step);
    const ref = j === undefined ? undefined : steps[j];
    if (j === undefined || !ref) problems.push({ path: `${at}.if.step`, message: `no step "${step.if.step}"` });
    else if (j >= i) problems.push({ path: `${at}.if.step`, message: `"${step.if.step}" does not run before this branch` });
    else if (ref.type !== 'send') problems.push({ path: `${at}.if.step`, message: `"${step.if.step}" is a ${ref.type} step; a branch can look only at a send step` });
  }
  for (const arm of ['then', 'else'] as const) {
    const target = step[arm];
    if (target === undefined || target === END) continue;
    const j = ids.get(target);
    if (j === undefined) problems.push({ path: `${at}.${arm}`, message: `no step "${target}"` });
    else if (j <= i) problems.push({ path: `${at}.${arm}`, message: `"${target}" is not after this branch: jumps go forward only` });
  }
  return problems;
}

/** Steps that no path from the first step reaches (each named once). */
function unreachable(steps: readonly WorkflowStep[]): ErrorDetail[] {
  const reached = new Set<number>([0]);
  // Jumps go forward only (checked first), so one pass in order sees every predecessor of a step before it.
  for (let i = 0; i < steps.length; i++) {
    if (!reached.has(i)) continue;
    for (const j of successors(steps, i)) if (j > i) reached.add(j);
  }
  return steps.flatMap((s, i) => (reached.has(i) ? [] : [{ path: `steps.${i}`, message: `"${s.id}" is unreachable: no path from the first step leads to it` }]));
}
