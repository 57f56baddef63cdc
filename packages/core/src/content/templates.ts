import type { Channel } from '../platform/channels.js';
import { toJson, type Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import type { Template as TemplateRow, TemplateVersion } from '../generated/prisma/client.js';
import { decodeKeyCursor, newId } from '../platform/ids.js';
import { TemplateBody, type Preview, type Template } from '../schemas/templates.js';
import { resolveLocale, templateChannels } from './engine.js';
import { checkTemplate, renderJobs } from './render-pool.js';
import { fieldsOf, recordAudit, type AuditActor } from '../access/audit.js';

/** A template version as stored, parsed. */
export interface LoadedTemplate {
  key: string;
  version: number;
  body: TemplateBody;
}

function view(t: TemplateRow, v: TemplateVersion): Template {
  const body = TemplateBody.parse(v.body);
  return {
    key: t.key,
    version: v.version,
    latest_version: t.currentVersion,
    name: body.name ?? null,
    description: body.description ?? null,
    default_locale: body.default_locale,
    category: body.category ?? null,
    channels: templateChannels(body),
    locales: body.locales,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
  };
}

/** The audit record of a template's new version: which fields it has, never their text. */
const versionAudit = (appId: string, key: string, version: number, body: TemplateBody, action: 'template.created' | 'template.updated') => ({
  appId,
  action,
  targetType: 'template',
  targetId: key,
  summary: { version, fields: fieldsOf(body) },
});

export async function createTemplate(db: Db, appId: string, key: string, body: TemplateBody, by?: AuditActor): Promise<Template> {
  await checkTemplate(body);
  const id = newId();
  try {
    return await db.prisma.$transaction(async (tx) => {
      const t = await tx.template.create({
        data: { id, appId, key, currentVersion: 1, versions: { create: { version: 1, body: toJson(body) } } },
        include: { versions: true },
      });
      await recordAudit(tx, by, versionAudit(appId, key, 1, body, 'template.created'));
      return view(t, t.versions[0]!);
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new AppError('conflict', `Template ${key} exists; PUT /templates/${key} adds a version`);
    throw err;
  }
}

/** Editing adds a version; notifications keep the version they were made with. */
export async function updateTemplate(db: Db, appId: string, key: string, body: TemplateBody, by?: AuditActor): Promise<Template> {
  await checkTemplate(body);
  return db.prisma.$transaction(async (tx) => {
    // Row lock: concurrent edits get consecutive versions.
    const rows = await tx.$queryRaw<{ id: string; current_version: number }[]>`
      SELECT id, current_version FROM templates WHERE app_id = ${appId} AND key = ${key} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw notFound('Template');
    const version = row.current_version + 1;
    const v = await tx.templateVersion.create({ data: { templateId: row.id, version, body: toJson(body) } });
    const t = await tx.template.update({ where: { id: row.id }, data: { currentVersion: version, updatedAt: new Date() } });
    await recordAudit(tx, by, versionAudit(appId, key, version, body, 'template.updated'));
    return view(t, v);
  });
}

/** A template at its latest version, or at `version`. */
export async function loadTemplate(db: Db, appId: string, key: string, version?: number): Promise<LoadedTemplate & { row: TemplateRow; versionRow: TemplateVersion }> {
  const t = await db.prisma.template.findUnique({ where: { appId_key: { appId, key } } });
  if (!t) throw notFound('Template');
  const v = await db.prisma.templateVersion.findUnique({ where: { templateId_version: { templateId: t.id, version: version ?? t.currentVersion } } });
  if (!v) throw notFound(`Template version ${version}`);
  return { key, version: v.version, body: TemplateBody.parse(v.body), row: t, versionRow: v };
}

export async function getTemplate(db: Db, appId: string, key: string, version?: number): Promise<Template> {
  const t = await loadTemplate(db, appId, key, version);
  return view(t.row, t.versionRow);
}

export async function listTemplates(db: Db, appId: string, q: { limit: number; cursor?: string | undefined }) {
  const after = q.cursor === undefined ? undefined : decodeKeyCursor(q.cursor);
  if (after === null) throw new AppError('invalid_request', 'cursor is not valid');
  const rows = await db.prisma.template.findMany({
    where: { appId, key: after ? { gt: after } : undefined },
    orderBy: { key: 'asc' },
    take: q.limit + 1,
    include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
  });
  const page = rows.slice(0, q.limit);
  return {
    data: page.map((t) => {
      const v = view(t, t.versions[0]!);
      return { key: v.key, latest_version: v.latest_version, name: v.name, channels: v.channels, updated_at: v.updated_at };
    }),
    next_cursor: rows.length > q.limit ? Buffer.from(page.at(-1)!.key, 'utf8').toString('base64url') : null,
  };
}

/** Renders a template without sending anything. */
export async function previewTemplate(
  db: Db,
  appId: string,
  key: string,
  req: { data: Record<string, unknown>; locale?: string | undefined; version?: number | undefined; channels?: Channel[] | undefined },
): Promise<Preview> {
  const t = await loadTemplate(db, appId, key, req.version);
  const locale = resolveLocale(Object.keys(t.body.locales), req.locale, t.body.default_locale);
  const [outcome] = await renderJobs(t.body, req.channels ?? templateChannels(t.body), [{ path: '', locales: [locale], data: req.data }]);
  const result = outcome?.[locale];
  if (!result) throw new Error(`preview: locale ${locale} was not rendered`);
  if ('details' in result) throw new AppError('validation_failed', 'The template does not render with this data', result.details);
  return { key, version: t.version, locale, content: result.content };
}
