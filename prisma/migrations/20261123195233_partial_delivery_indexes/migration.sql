-- Partial indexes: a delivered row (the common end) no longer gets an entry in
-- the sweeper's index or the failed-by-error-code index.
-- DropIndex
DROP INDEX "deliveries_app_id_status_last_error_code_id_idx";

-- DropIndex
DROP INDEX "deliveries_status_updated_at_idx";

-- CreateIndex
CREATE INDEX "deliveries_status_updated_at_idx" ON "deliveries"("status", "updated_at") WHERE (status IN ('queued', 'retrying', 'sending'));

-- CreateIndex
CREATE INDEX "deliveries_app_id_last_error_code_id_idx" ON "deliveries"("app_id", "last_error_code", "id" DESC) WHERE (status = 'failed');
