import { categoryRequired } from '../content/categories.js';
import type { Channel, Priority } from '../platform/channels.js';
import type { Db } from '../platform/db.js';
import { AppError, type ErrorDetail } from '../platform/errors.js';
import type { NotificationSpec } from './plan.js';
import { templateChannels, TemplateRenderError } from '../content/engine.js';
import { renderJobs } from '../content/render-pool.js';
import { loadTemplate } from '../content/templates.js';

/** The content and timing fields of a request (single, bulk or topic). */
export interface SpecInput {
  message?: string | undefined;
  template?: string | undefined;
  /** Pin a template version (a topic fan-out renders the version the request saw). */
  template_version?: number | undefined;
  channels?: Channel[] | undefined;
  priority: Priority;
  subject?: string | undefined;
  type?: string | undefined;
  category?: string | undefined;
  locale?: string | undefined;
  data?: Record<string, unknown> | undefined;
  send_at?: string | undefined;
}

const MAX_SCHEDULE_MS = 366 * 24 * 3600 * 1000;

/**
 * Resolves a request against the app's templates and categories: 404 for an
 * unknown template, 422 for an unknown category, channels the template cannot
 * fill, or a send_at more than a year ahead.
 */
export async function resolveSpec(
  db: Db,
  appId: string,
  input: SpecInput,
  batchId: string | null = null,
  requestId: string | null = null,
): Promise<NotificationSpec> {
  const template = input.template ? await loadTemplate(db, appId, input.template, input.template_version) : null;
  const available = template ? templateChannels(template.body) : null;
  const channels = input.channels ?? available ?? [];
  if (available) {
    const missing = channels.filter((c) => !available.includes(c));
    if (missing.length > 0) {
      throw new AppError('validation_failed', 'The request is not valid', [
        { path: 'channels', message: `template ${template!.key} has no content for ${missing.join(', ')}` },
      ]);
    }
  }
  const category = input.category ?? template?.body.category ?? null;
  const required = category ? await categoryRequired(db, appId, category) : false;
  const sendAt = input.send_at ? new Date(input.send_at) : null;
  if (sendAt && sendAt.getTime() - Date.now() > MAX_SCHEDULE_MS) {
    throw new AppError('validation_failed', 'The request is not valid', [{ path: 'send_at', message: 'must be within a year' }]);
  }
  return {
    appId,
    message: input.message ?? null,
    template,
    channels,
    priority: input.priority,
    subject: input.subject ?? null,
    type: input.type ?? null,
    category,
    categoryRequired: required,
    locale: input.locale ?? null,
    data: input.data ?? null,
    sendAt,
    batchId,
    requestId,
  };
}

/** A template that cannot render becomes a 422 naming each field (`prefix` places it in the request). */
export function renderFailure(err: unknown, prefix = ''): AppError | null {
  if (!(err instanceof TemplateRenderError)) return null;
  const details: ErrorDetail[] = err.details.map((d) => ({ path: `${prefix}${d.path}`, message: d.message }));
  return new AppError('validation_failed', 'The template does not render with this data', details);
}

/**
 * For fan-outs, whose recipients' locales are unknown up front: every locale
 * must render with the shared data, all of them in one render-pool task.
 */
export async function checkRendersInEveryLocale(spec: NotificationSpec): Promise<void> {
  if (!spec.template) return;
  const locales = Object.keys(spec.template.body.locales);
  const [outcomes] = await renderJobs(spec.template.body, spec.channels, [{ path: '', locales, data: spec.data ?? {}, localePaths: true }]);
  for (const locale of locales) {
    const outcome = outcomes?.[locale];
    if (outcome && 'details' in outcome) throw renderFailure(new TemplateRenderError(outcome.details), `locales.${locale}.`)!;
  }
}
