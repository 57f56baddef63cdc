-- The audit log: who changed what through the API. Rows are only ever inserted
-- (no API updates or deletes them); retention removes old ones by created_at.
-- CreateTable
CREATE TABLE "audit_events" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "request_id" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "summary" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_events_app_id_id_idx" ON "audit_events"("app_id", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_events_app_id_target_type_target_id_id_idx" ON "audit_events"("app_id", "target_type", "target_id", "id" DESC);

-- CreateIndex
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");
