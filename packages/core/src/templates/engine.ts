import { Liquid, type Template as LiquidTemplate } from 'liquidjs';
import type { Channel } from '../channels.js';
import type { ErrorDetail } from '../errors.js';
import type { RenderedContent, TemplateBody, TemplateContent } from '../schemas/templates.js';

/**
 * Templates are written by users, so they are rendered with LiquidJS: no code
 * runs, only variables, conditionals, loops and filters. A missing variable is
 * an error (strict), except as an `if` condition or with a `default` filter.
 * Email HTML escapes every output; text channels do not. Limits stop a
 * template from eating the process.
 */
const options = {
  strictVariables: true,
  strictFilters: true,
  lenientIf: true,
  renderLimit: 500,
  memoryLimit: 10_000_000,
  parseLimit: 1_000_000,
} as const;
const htmlEngine = new Liquid({ ...options, outputEscape: 'escape' });
const textEngine = new Liquid(options);

/** Parsed templates by engine and source: the same source parses once. */
const parsed = new Map<string, LiquidTemplate[]>();
const PARSED_MAX = 2000;

function parse(engine: Liquid, source: string): LiquidTemplate[] {
  const key = `${engine === htmlEngine ? 'h' : 't'}\u0000${source}`;
  let templates = parsed.get(key);
  if (!templates) {
    templates = engine.parse(source);
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    parsed.set(key, templates);
  }
  return templates;
}

export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  constructor(readonly details: ErrorDetail[]) {
    super(details.map((d) => `${d.path}: ${d.message}`).join('; '));
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
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${path}.${i}`, visit));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, `${path}.${k}`, visit);
}

/** Checks that every template of every locale parses; throws with each bad field's path. */
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

/**
 * Renders the given channels for one locale. A channel the chosen locale lacks
 * comes from the default locale. Throws TemplateRenderError naming every
 * field that failed (a missing variable, say), so a request can be refused
 * before anything is stored.
 */
export function renderTemplate(
  body: TemplateBody,
  locale: string,
  channels: readonly Channel[],
  data: Record<string, unknown>,
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
      try {
        const engine = html ? htmlEngine : textEngine;
        return engine.renderSync(parse(engine, src), data) as string;
      } catch (err) {
        details.push({ path: `template.${path}`, message: brief(err) });
        return '';
      }
    };
    if (channel === 'webhook') {
      content.webhook = { payload: mapStrings((source as { payload: unknown }).payload, 'webhook.payload', (s, p) => render(s, false, p)) };
    } else {
      content[channel] = Object.fromEntries(
        Object.entries(source as Record<string, string>).map(([name, src]) => [
          name,
          render(src, channel === 'email' && name === 'html', `${channel}.${name}`),
        ]),
      );
    }
  }
  if (details.length > 0) throw new TemplateRenderError(details);
  return content as RenderedContent;
}

function mapStrings(value: unknown, path: string, fn: (s: string, path: string) => string): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, `${path}.${i}`, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, `${path}.${k}`, fn)]));
  }
  return value;
}
