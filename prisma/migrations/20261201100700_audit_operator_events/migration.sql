-- An operator's change that belongs to no app (a channel queue paused for
-- every app) is recorded with no app: GET /admin/audit-events lists those.
-- AlterTable
ALTER TABLE "audit_events" ALTER COLUMN "app_id" DROP NOT NULL;
