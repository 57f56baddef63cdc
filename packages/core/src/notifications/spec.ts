import { categoryRequired } from '../content/categories.js';
import type { Channel, Priority } from '../platform/channels.js';
import type { Db } from '../platform/db.js';
import { AppError } from '../platform/errors.js';
import { templateChannels } from '../content/engine.js';
import { loadTemplate, type LoadedTemplate } from '../content/templates.js';

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

/** A notification request, resolved (template loaded, category checked), for any number of recipients. */
export interface NotificationSpec {
  appId: string;
  message: string | null;
  template: LoadedTemplate | null;
  channels: Channel[];
  priority: Priority;
  subject: string | null;
  type: string | null;
  category: string | null;
  categoryRequired: boolean;
  /** Render in this locale rather than the recipient's. */
  locale: string | null;
  data: Record<string, unknown> | null;
  sendAt: Date | null;
  batchId: string | null;
  /** The X-Request-Id of the request: stored on the notification and carried by its jobs. */
  requestId: string | null;
  /** The W3C traceparent of the request's span when tracing is on: carried by the jobs, never stored. */
  traceparent?: string | undefined;
}

const MAX_SCHEDULE_MS = 366 * 24 * 3600 * 1000;

/**
 * Resolves a request against the app's templates and categories: 404 for an
 * unknown template, 422 for an unknown category, channels the template cannot
 * fill, or a send_at more than a year ahead.
 */
export async function resolveSpec(db: Db, appId: string, input: SpecInput, batchId: string | null = null, requestId: string | null = null): Promise<NotificationSpec> {
  const template = input.template ? await loadTemplate(db, appId, input.template, input.template_version) : null;
  const available = template ? templateChannels(template.body) : null;
  const channels = input.channels ?? available ?? [];
  if (available) {
    const missing = channels.filter((c) => !available.includes(c));
    if (missing.length > 0) {
      throw new AppError('validation_failed', 'The request is not valid', [{ path: 'channels', message: `template ${template!.key} has no content for ${missing.join(', ')}` }]);
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
