-- CreateIndex
CREATE UNIQUE INDEX "workflow_runs_batch_id_user_id_key" ON "workflow_runs"("batch_id", "user_id");
