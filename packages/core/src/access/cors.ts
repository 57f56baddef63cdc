import type { Db } from '../platform/db.js';
import type { CorsSettings } from '../schemas/access.js';
import { recordAudit, type AuditActor } from './audit.js';

/**
 * The browser origins an app lets call the user-token routes. The actual
 * request is checked against its token's app; a preflight carries no token,
 * so it can only ask whether some app allows the origin (originAllowedByAnyApp).
 */
export async function getCorsSettings(db: Db, appId: string): Promise<CorsSettings> {
  const app = await db.prisma.app.findUniqueOrThrow({ where: { id: appId }, select: { corsAllowedOrigins: true } });
  return { allowed_origins: app.corsAllowedOrigins };
}

/** Replaces the app's list (duplicates dropped, order kept), recorded in the audit log. */
export async function setCorsSettings(db: Db, appId: string, settings: CorsSettings, by?: AuditActor): Promise<CorsSettings> {
  const origins = [...new Set(settings.allowed_origins)];
  await db.prisma.$transaction(async (tx) => {
    await tx.app.update({ where: { id: appId }, data: { corsAllowedOrigins: origins } });
    await recordAudit(tx, by, { appId, action: 'app.cors_updated', targetType: 'app', targetId: appId, summary: { allowed_origins: origins } });
  });
  return { allowed_origins: origins };
}

/** Whether any app allows `origin` (the GIN index answers `@>`). */
export async function originAllowedByAnyApp(db: Db, origin: string): Promise<boolean> {
  const { rows } = await db.pool.query<{ allowed: boolean }>({
    text: '/* cors_origin_known */ SELECT EXISTS (SELECT 1 FROM apps WHERE cors_allowed_origins @> ARRAY[$1]::text[]) AS allowed',
    values: [origin],
  });
  return rows[0]?.allowed ?? false;
}
