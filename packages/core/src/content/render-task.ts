// Runs in a render thread (render-pool.ts): one task is everything one request renders, under one budget.
import type { Channel } from '../platform/channels.js';
import type { ErrorDetail } from '../platform/errors.js';
import type { RenderedContent, TemplateBody } from '../schemas/templates.js';
import { checkTemplateSyntax, RenderBudget, renderTemplate, TemplateBudgetError, TemplateRenderError, type BudgetExceeded, type RenderLimits } from './engine.js';

/** One set of data to render, in each of `locales`; paths of budget refusals start with `path`. */
export interface RenderJob {
  path: string;
  locales: string[];
  data: Record<string, unknown>;
  /** Put `locales.<locale>.` in the paths (a fan-out names the locale that failed). */
  localePaths?: boolean;
}

/** Shared with the pool: [0] is 1 once the task started, [1] the job being rendered (so a killed task can be named). */
export type Progress = Int32Array;

export type RenderTask =
  | { kind: 'check'; body: TemplateBody; limits: RenderLimits; progress: Progress }
  | { kind: 'render'; body: TemplateBody; channels: Channel[]; jobs: RenderJob[]; limits: RenderLimits; progress: Progress };

/** A locale's content, or why it cannot render with the job's data (a missing variable: a 422 if that locale is chosen). */
export type LocaleOutcome = { content: RenderedContent } | { details: ErrorDetail[] };

export type RenderTaskResult = { ok: true; outcomes: Record<string, LocaleOutcome>[] } | { ok: false; kind: 'invalid' | BudgetExceeded; details: ErrorDetail[] };

export default function run(task: RenderTask): RenderTaskResult {
  Atomics.store(task.progress, 0, 1);
  Atomics.notify(task.progress, 0);
  if (task.kind === 'check') {
    try {
      checkTemplateSyntax(task.body);
      return { ok: true, outcomes: [] };
    } catch (err) {
      if (err instanceof TemplateRenderError) return { ok: false, kind: 'invalid', details: err.details };
      throw err;
    }
  }
  const budget = new RenderBudget(task.limits);
  const outcomes: Record<string, LocaleOutcome>[] = [];
  for (const [i, job] of task.jobs.entries()) {
    Atomics.store(task.progress, 1, i);
    const byLocale: Record<string, LocaleOutcome> = {};
    for (const locale of job.locales) {
      const prefix = job.localePaths ? `${job.path}locales.${locale}.` : job.path;
      try {
        byLocale[locale] = { content: renderTemplate(task.body, locale, task.channels, job.data, budget) };
      } catch (err) {
        if (err instanceof TemplateBudgetError) {
          return { ok: false, kind: err.kind, details: err.details.map((d) => ({ path: `${prefix}${d.path}`, message: d.message })) };
        }
        if (!(err instanceof TemplateRenderError)) throw err;
        // Unprefixed: the caller places them in the request, and only if this locale is the one chosen.
        byLocale[locale] = { details: err.details };
      }
    }
    outcomes.push(byLocale);
  }
  return { ok: true, outcomes };
}
