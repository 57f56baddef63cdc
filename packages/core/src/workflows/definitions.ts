// The workflow store: definitions, versioned like templates (an edit adds a version; runs keep theirs).
import type { Workflow as WorkflowRow, WorkflowVersion } from '../generated/prisma/client.js';
import { fieldsOf, recordAudit, type AuditActor } from '../access/audit.js';
import { toJson, type Db } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import { decodeKeyCursor, encodeKeyCursor, newId } from '../platform/ids.js';
import { TemplateBody } from '../schemas/templates.js';
import { WorkflowBody, type Workflow, type WorkflowList, type WorkflowStep } from '../schemas/workflows.js';
import { DEFAULT_CATEGORIES } from '../content/categories.js';
import { templateChannels } from '../content/engine.js';
import { definitionProblems, normalizeDefinition, type DefinitionCatalog, type WorkflowDefinition } from './definition.js';

function view(w: WorkflowRow, v: WorkflowVersion): Workflow {
  const body = WorkflowBody.parse(v.body);
  return {
    key: w.key,
    version: v.version,
    latest_version: w.currentVersion,
    name: body.name ?? null,
    description: body.description ?? null,
    steps: body.steps,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}

/** The templates (their channels at the latest version) and categories a definition's send steps name. */
async function catalogOf(db: Db, appId: string, steps: readonly WorkflowStep[]): Promise<DefinitionCatalog> {
  const sends = steps.filter((s) => s.type === 'send');
  const templateKeys = [...new Set(sends.flatMap((s) => (s.template === undefined ? [] : [s.template])))];
  const categoryKeys = [...new Set(sends.flatMap((s) => (s.category === undefined ? [] : [s.category])))];
  const [templates, categories] = await Promise.all([
    templateKeys.length === 0 ? [] : db.prisma.template.findMany({ where: { appId, key: { in: templateKeys } }, include: { versions: { orderBy: { version: 'desc' }, take: 1 } } }),
    categoryKeys.length === 0 ? [] : db.prisma.category.findMany({ where: { appId, key: { in: categoryKeys } }, select: { key: true } }),
  ]);
  const channels = new Map(templates.map((t) => [t.key, templateChannels(TemplateBody.parse(t.versions[0]!.body))]));
  const known = new Set([...Object.keys(DEFAULT_CATEGORIES), ...categories.map((c) => c.key)]);
  return { templateChannels: (key) => channels.get(key), categoryExists: (key) => known.has(key) };
}

/** Refuses (422) a definition that breaks a rule of definition.ts, each problem named in `details`. */
async function checkDefinition(db: Db, appId: string, body: WorkflowBody): Promise<WorkflowBody> {
  const problems = definitionProblems(body.steps, await catalogOf(db, appId, body.steps));
  if (problems.length > 0) throw new AppError('validation_failed', 'The workflow definition is not valid', problems);
  return normalizeDefinition(body);
}

/** The audit record of a new version: its fields and step types, never message text. */
const versionAudit = (appId: string, key: string, version: number, body: WorkflowBody, action: 'workflow.created' | 'workflow.updated') => ({
  appId,
  action,
  targetType: 'workflow',
  targetId: key,
  summary: { version, fields: fieldsOf(body), steps: body.steps.map((s) => s.type) },
});

export async function createWorkflow(db: Db, appId: string, key: string, input: WorkflowBody, by?: AuditActor): Promise<Workflow> {
  const body = await checkDefinition(db, appId, input);
  try {
    return await db.prisma.$transaction(async (tx) => {
      const w = await tx.workflow.create({
        data: { id: newId(), appId, key, currentVersion: 1, versions: { create: { version: 1, body: toJson(body) } } },
        include: { versions: true },
      });
      await recordAudit(tx, by, versionAudit(appId, key, 1, body, 'workflow.created'));
      return view(w, w.versions[0]!);
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new AppError('conflict', `Workflow ${key} exists; PUT /workflows/${key} adds a version`);
    throw err;
  }
}

/** Editing adds a version; runs already started keep the version they began with. */
export async function updateWorkflow(db: Db, appId: string, key: string, input: WorkflowBody, by?: AuditActor): Promise<Workflow> {
  const body = await checkDefinition(db, appId, input);
  return db.prisma.$transaction(async (tx) => {
    // Row lock: concurrent edits get consecutive versions.
    const rows = await tx.$queryRaw<{ id: string; current_version: number }[]>`
      SELECT id, current_version FROM workflows WHERE app_id = ${appId} AND key = ${key} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw notFound('Workflow');
    const version = row.current_version + 1;
    const v = await tx.workflowVersion.create({ data: { workflowId: row.id, version, body: toJson(body) } });
    const w = await tx.workflow.update({ where: { id: row.id }, data: { currentVersion: version, updatedAt: new Date() } });
    await recordAudit(tx, by, versionAudit(appId, key, version, body, 'workflow.updated'));
    return view(w, v);
  });
}

/** A workflow at its latest version, or at `version`, as the API shows it. */
export async function getWorkflow(db: Db, appId: string, key: string, version?: number): Promise<Workflow> {
  const w = await db.prisma.workflow.findUnique({ where: { appId_key: { appId, key } } });
  if (!w) throw notFound('Workflow');
  const v = await db.prisma.workflowVersion.findUnique({ where: { workflowId_version: { workflowId: w.id, version: version ?? w.currentVersion } } });
  if (!v) throw notFound(`Workflow version ${version}`);
  return view(w, v);
}

/**
 * The definition a run executes: the latest version, or the one the run
 * started with. One query, since every trigger and step job reads it.
 */
export async function getWorkflowVersion(db: Db, appId: string, key: string, version?: number): Promise<WorkflowDefinition> {
  const { rows } = await db.pool.query<{ version: number; body: unknown }>(
    `SELECT v.version, v.body FROM workflows w
     JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = COALESCE($3::int, w.current_version)
     WHERE w.app_id = $1 AND w.key = $2`,
    [appId, key, version ?? null],
  );
  const row = rows[0];
  if (!row) throw notFound(version === undefined ? 'Workflow' : `Workflow version ${version}`);
  const body = WorkflowBody.parse(row.body);
  return { key, version: row.version, name: body.name, description: body.description, steps: body.steps };
}

export async function listWorkflows(db: Db, appId: string, q: { limit: number; cursor?: string | undefined }): Promise<WorkflowList> {
  const after = q.cursor === undefined ? null : decodeKeyCursor(q.cursor);
  if (q.cursor !== undefined && after === null) throw new AppError('invalid_request', 'cursor is not valid');
  // Name and step count come out of the JSON in SQL: a page parses no definition.
  const { rows } = await db.pool.query<{ key: string; latest_version: number; name: string | null; steps: number; updated_at: Date }>(
    `SELECT w.key, w.current_version AS latest_version, v.body->>'name' AS name, jsonb_array_length(v.body->'steps') AS steps, w.updated_at
     FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
     WHERE w.app_id = $1 AND ($2::text IS NULL OR w.key > $2)
     ORDER BY w.key LIMIT $3`,
    [appId, after, q.limit + 1],
  );
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    data: page.map((r) => ({ ...r, updated_at: r.updated_at.toISOString() })),
    next_cursor: rows.length > q.limit && last ? encodeKeyCursor(last.key) : null,
  };
}
