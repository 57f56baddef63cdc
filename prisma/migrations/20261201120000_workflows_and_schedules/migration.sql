-- CreateEnum
CREATE TYPE "WorkflowRunStatus" AS ENUM ('running', 'completed', 'cancelled', 'failed', 'digested');

-- CreateEnum
CREATE TYPE "WorkflowStepStatus" AS ENUM ('pending', 'waiting', 'done', 'skipped', 'cancelled', 'failed');

-- CreateTable
CREATE TABLE "workflows" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "current_version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_versions" (
    "workflow_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_versions_pkey" PRIMARY KEY ("workflow_id","version")
);

-- CreateTable
CREATE TABLE "workflow_runs" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "workflow_key" TEXT NOT NULL,
    "workflow_version" INTEGER NOT NULL,
    "user_id" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "status" "WorkflowRunStatus" NOT NULL DEFAULT 'running',
    "step_index" INTEGER NOT NULL DEFAULT 0,
    "next_at" TIMESTAMPTZ(3),
    "digest_key" TEXT,
    "merged_into" UUID,
    "batch_id" UUID,
    "schedule_id" UUID,
    "idempotency_key" TEXT,
    "request_id" TEXT,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_run_steps" (
    "run_id" UUID NOT NULL,
    "step_index" INTEGER NOT NULL,
    "step_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "status" "WorkflowStepStatus" NOT NULL DEFAULT 'pending',
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "notification_ids" UUID[] DEFAULT ARRAY[]::UUID[],
    "detail" JSONB,

    CONSTRAINT "workflow_run_steps_pkey" PRIMARY KEY ("run_id","step_index")
);

-- CreateTable
CREATE TABLE "schedules" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "cron" TEXT NOT NULL,
    "timezone" TEXT,
    "target_kind" TEXT NOT NULL,
    "target" JSONB NOT NULL,
    "content" JSONB NOT NULL,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "last_fired_at" TIMESTAMPTZ(3),
    "fired" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "workflows_app_id_key_key" ON "workflows"("app_id", "key");

-- CreateIndex
CREATE INDEX "workflow_runs_app_id_user_id_id_idx" ON "workflow_runs"("app_id", "user_id", "id" DESC);

-- CreateIndex
CREATE INDEX "workflow_runs_app_id_workflow_key_id_idx" ON "workflow_runs"("app_id", "workflow_key", "id" DESC);

-- CreateIndex
CREATE INDEX "workflow_runs_status_next_at_idx" ON "workflow_runs"("status", "next_at");

-- CreateIndex
CREATE INDEX "schedules_app_id_id_idx" ON "schedules"("app_id", "id" DESC);

-- AddForeignKey
ALTER TABLE "workflow_versions" ADD CONSTRAINT "workflow_versions_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run_steps" ADD CONSTRAINT "workflow_run_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
