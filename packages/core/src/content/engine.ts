import { Context, Liquid, Tag, toValueSync, type Template as LiquidTemplate, type TagToken, type TopLevelToken } from 'liquidjs';
import type { Channel } from '../platform/channels.js';
import type { ErrorDetail } from '../platform/errors.js';
import type { RenderedContent, TemplateBody, TemplateContent } from '../schemas/templates.js';

/**
 * Templates are written by users, so they are rendered with LiquidJS: no code
 * runs, only variables, conditionals, loops and filters. A missing variable is
 * an error (strict), except as an `if` condition or with a `default` filter.
 * Email HTML escapes every output; text channels do not.
 *
 * A template reaches nothing but the data it is given: the tags that load
 * other files (`include`, `render`, `layout`) do not parse, and the engines'
 * file system is an empty in-memory map, so no lookup can reach the disk even
 * if a tag that reads files is ever added. Rendering runs in the render pool's
 * threads (render-pool.ts), under one RenderBudget per request.
 */
export const FILE_TAGS = ['include', 'render', 'layout'] as const;

/** Refuses a tag at parse time, so `{% liquid render 'x' %}` is caught as well as `{% render 'x' %}`. */
function refusedTag(name: string) {
  return class extends Tag {
    constructor(token: TagToken, remain: TopLevelToken[], liquid: Liquid) {
      super(token, remain, liquid);
      throw new Error(`the ${name} tag is not allowed: a template cannot load other templates or files`);
    }
    *render(): Generator<unknown, void, unknown> {}
  };
}

const options = {
  strictVariables: true,
  strictFilters: true,
  lenientIf: true,
  ownPropertyOnly: true,
  parseLimit: 1_000_000,
  // An in-memory file system that knows no file: every lookup misses.
  templates: {},
  relativeReference: false,
} as const;

function engine(html: boolean): Liquid {
  const liquid = new Liquid(html ? { ...options, outputEscape: 'escape' } : options);
  for (const name of FILE_TAGS) liquid.registerTag(name, refusedTag(name));
  return liquid;
}
const htmlEngine = engine(true);
const textEngine = engine(false);

/** Parsed templates by engine and source: the same source parses once (per render thread). */
const parsed = new Map<string, LiquidTemplate[]>();
const PARSED_MAX = 2000;

function parse(liquid: Liquid, source: string): LiquidTemplate[] {
  const key = `${liquid === htmlEngine ? 'h' : 't'}\u0000${source}`;
  let templates = parsed.get(key);
  if (!templates) {
    templates = liquid.parse(source);
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    parsed.set(key, templates);
  }
  return templates;
}

export class TemplateRenderError extends Error {
  override readonly name: string = 'TemplateRenderError';
  constructor(readonly details: ErrorDetail[]) {
    super(details.map((d) => `${d.path}: ${d.message}`).join('; '));
  }
}

/** What stopped a render that went over its budget: time (or Liquid's allocation count), or output size. */
export type BudgetExceeded = 'too_expensive' | 'output_too_large';

/** A render stopped by its budget (not a fault of the data): the whole request is refused. */
export class TemplateBudgetError extends TemplateRenderError {
  override readonly name = 'TemplateBudgetError';
  constructor(
    readonly kind: BudgetExceeded,
    details: ErrorDetail[],
  ) {
    super(details);
  }
}

/** The limits of one request's rendering, all fields, locales and recipients together. */
export interface RenderLimits {
  /** Milliseconds of rendering in all. */
  timeMs: number;
  /** Liquid's allocation count (characters and array elements created by filters, ranges...) in all. */
  memory: number;
  /** Bytes (UTF-8) one rendered field may have. */
  fieldBytes: number;
  /** Bytes (UTF-8) everything rendered may have. */
  totalBytes: number;
}

/**
 * One request's budget: Liquid's render deadline and allocation counter are
 * shared by every render call made under it (Liquid checks both between
 * nodes), and the output is counted as it is written, so a loop that writes
 * 16 MB stops at the cap instead of after building it.
 */
export class RenderBudget {
  /** Liquid's limiters, taken from a first context and handed to every later one. */
  private readonly limiters: { memoryLimit: Context['memoryLimit']; renderLimit: Context['renderLimit'] };
  private readonly deadline: number;
  outputBytes = 0;

  constructor(readonly limits: RenderLimits) {
    this.deadline = performance.now() + limits.timeMs;
    const first = new Context({}, textEngine.options, { renderLimit: limits.timeMs, memoryLimit: limits.memory });
    this.limiters = { memoryLimit: first.memoryLimit, renderLimit: first.renderLimit };
  }

  get expired(): boolean {
    return performance.now() >= this.deadline;
  }

  context(liquid: Liquid, data: Record<string, unknown>): Context {
    return new Context(data, liquid.options, {}, { ...this.limiters, liquid });
  }
}

class OutputCapExceeded extends Error {
  constructor(readonly cap: 'field' | 'total') {
    super(`output cap (${cap}) exceeded`);
  }
}

/** Liquid's emitter, counting as it goes: UTF-16 length is at most the UTF-8 length, so it never stops early. */
class CappedEmitter {
  buffer = '';
  constructor(private readonly budget: RenderBudget) {}
  write(html: unknown): void {
    const s = typeof html === 'string' ? html : html === null || html === undefined ? '' : String(html);
    if (this.buffer.length + s.length > this.budget.limits.fieldBytes) throw new OutputCapExceeded('field');
    if (this.budget.outputBytes + s.length > this.budget.limits.totalBytes) throw new OutputCapExceeded('total');
    this.buffer += s;
    this.budget.outputBytes += s.length;
  }
}

/** Liquid's message without the source excerpt it appends. */
function brief(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** Every template field of one locale's content, with its path and whether it is HTML. */
function fields(content: TemplateContent): { path: string; source: string; html: boolean }[] {
  const out: { path: string; source: string; html: boolean }[] = [];
  for (const [channel, c] of Object.entries(content)) {
    if (channel === 'webhook') {
      walkStrings((c as { payload: unknown }).payload, `${channel}.payload`, (path, source) => out.push({ path, source, html: false }));
      continue;
    }
    for (const [name, source] of Object.entries(c as Record<string, string | undefined>)) {
      if (source !== undefined) out.push({ path: `${channel}.${name}`, source, html: channel === 'email' && name === 'html' });
    }
  }
  return out;
}

function walkStrings(value: unknown, path: string, visit: (path: string, source: string) => void): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) walkStrings(v, `${path}.${i}`, visit);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, `${path}.${k}`, visit);
}

/**
 * Checks that every template of every locale parses, and uses no tag that
 * loads files; throws with each bad field's path.
 */
export function checkTemplateSyntax(body: TemplateBody): void {
  const details: ErrorDetail[] = [];
  for (const [locale, content] of Object.entries(body.locales)) {
    for (const f of fields(content)) {
      try {
        parse(f.html ? htmlEngine : textEngine, f.source);
      } catch (err) {
        details.push({ path: `locales.${locale}.${f.path}`, message: brief(err) });
      }
    }
  }
  if (details.length > 0) throw new TemplateRenderError(details);
}

/**
 * The locale to render for a user: their locale, then its language
 * (`pt-BR` -> `pt`), then the template's default.
 */
export function resolveLocale(available: string[], wanted: string | null | undefined, fallback: string): string {
  if (wanted) {
    const lower = new Map(available.map((l) => [l.toLowerCase(), l]));
    const exact = lower.get(wanted.toLowerCase());
    if (exact) return exact;
    const language = lower.get(wanted.split('-')[0]!.toLowerCase());
    if (language) return language;
  }
  return fallback;
}

/** The channels a template version has content for (in any locale). */
export function templateChannels(body: TemplateBody): Channel[] {
  const set = new Set<Channel>();
  for (const content of Object.values(body.locales)) for (const c of Object.keys(content)) set.add(c as Channel);
  return [...set];
}

/** The default budget of a render made outside the pool (tests): the documented defaults. */
export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  timeMs: 1000,
  memory: 50_000_000,
  fieldBytes: 256 * 1024,
  totalBytes: 8 * 1024 * 1024,
};

/**
 * Renders the given channels for one locale. A channel the chosen locale lacks
 * comes from the default locale. Throws TemplateRenderError naming every
 * field that failed (a missing variable, say), so a request can be refused
 * before anything is stored, or TemplateBudgetError as soon as the budget
 * (shared with every other render of the request) runs out.
 */
export function renderTemplate(
  body: TemplateBody,
  locale: string,
  channels: readonly Channel[],
  data: Record<string, unknown>,
  budget: RenderBudget = new RenderBudget(DEFAULT_RENDER_LIMITS),
): RenderedContent {
  const details: ErrorDetail[] = [];
  const content: Record<string, unknown> = {};
  for (const channel of channels) {
    const source = body.locales[locale]?.[channel] ?? body.locales[body.default_locale]?.[channel];
    if (!source) {
      details.push({ path: `template.${channel}`, message: `the template has no ${channel} content` });
      continue;
    }
    const render = (src: string, html: boolean, path: string): string => {
      const liquid = html ? htmlEngine : textEngine;
      const emitter = new CappedEmitter(budget);
      try {
        toValueSync(liquid.renderer.renderTemplates(parse(liquid, src), budget.context(liquid, data), emitter));
      } catch (err) {
        const stop = budgetStop(err, budget);
        if (stop) throw new TemplateBudgetError(stop.kind, [{ path: `template.${path}`, message: stop.message }]);
        details.push({ path: `template.${path}`, message: brief(err) });
        return '';
      }
      const bytes = Buffer.byteLength(emitter.buffer);
      if (bytes > budget.limits.fieldBytes) {
        throw new TemplateBudgetError('output_too_large', [{ path: `template.${path}`, message: fieldCapMessage(budget.limits) }]);
      }
      // The emitter counted UTF-16 units; count what the field really takes.
      budget.outputBytes += bytes - emitter.buffer.length;
      if (budget.outputBytes > budget.limits.totalBytes) {
        throw new TemplateBudgetError('output_too_large', [{ path: `template.${path}`, message: totalCapMessage(budget.limits) }]);
      }
      return emitter.buffer;
    };
    if (channel === 'webhook') {
      content.webhook = { payload: mapStrings((source as { payload: unknown }).payload, 'webhook.payload', (s, p) => render(s, false, p)) };
    } else {
      content[channel] = Object.fromEntries(
        Object.entries(source as Record<string, string>).map(([name, src]) => [name, render(src, channel === 'email' && name === 'html', `${channel}.${name}`)]),
      );
    }
  }
  if (details.length > 0) throw new TemplateRenderError(details);
  return content as RenderedContent;
}

const fieldCapMessage = (l: RenderLimits) => `renders more than ${l.fieldBytes} bytes, the most one field may render`;
const totalCapMessage = (l: RenderLimits) => `the request renders more than ${l.totalBytes} bytes in all, the most one request may render`;

/** Whether an error is the budget stopping the render (rather than a fault in the template or data). */
function budgetStop(err: unknown, budget: RenderBudget): { kind: BudgetExceeded; message: string } | null {
  let e: unknown = err;
  // Liquid wraps what a tag throws (RenderError with originalError); unwrap to find our own.
  for (let i = 0; i < 10 && e instanceof Error; i++) {
    if (e instanceof OutputCapExceeded) {
      return { kind: 'output_too_large', message: e.cap === 'field' ? fieldCapMessage(budget.limits) : totalCapMessage(budget.limits) };
    }
    const next: unknown = (e as { originalError?: unknown }).originalError ?? e.cause;
    if (next === undefined || next === e) break;
    e = next;
  }
  const message = brief(err);
  if (/template render limit exceeded/.test(message) || budget.expired) {
    return { kind: 'too_expensive', message: `rendering took more than ${budget.limits.timeMs} ms, the budget of one request` };
  }
  if (/memory alloc limit exceeded/.test(message)) {
    return { kind: 'too_expensive', message: `rendering allocates more than ${budget.limits.memory} units, the budget of one request` };
  }
  return null;
}

function mapStrings(value: unknown, path: string, fn: (s: string, path: string) => string): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, `${path}.${i}`, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, `${path}.${k}`, fn)]));
  }
  return value;
}
