-- AlterTable
ALTER TABLE "deliveries" ADD COLUMN     "scheduled_for" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "notifications" ADD COLUMN     "batch_id" UUID,
ADD COLUMN     "category" TEXT,
ADD COLUMN     "content" JSONB,
ADD COLUMN     "locale" TEXT,
ADD COLUMN     "send_at" TIMESTAMPTZ(3),
ADD COLUMN     "template_key" TEXT,
ADD COLUMN     "template_version" INTEGER,
ALTER COLUMN "message" DROP NOT NULL;

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "quiet_end" TEXT,
ADD COLUMN     "quiet_start" TEXT;

-- CreateTable
CREATE TABLE "templates" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "current_version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "templates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "template_versions" (
    "template_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "template_versions_pkey" PRIMARY KEY ("template_id","version")
);

-- CreateTable
CREATE TABLE "categories" (
    "app_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "description" TEXT,
    "required" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "categories_pkey" PRIMARY KEY ("app_id","key")
);

-- CreateTable
CREATE TABLE "batches" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "topic_key" TEXT,
    "request" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "cursor" TEXT,
    "created" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "topics" (
    "app_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topics_pkey" PRIMARY KEY ("app_id","key")
);

-- CreateTable
CREATE TABLE "topic_subscriptions" (
    "app_id" TEXT NOT NULL,
    "topic_key" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topic_subscriptions_pkey" PRIMARY KEY ("app_id","topic_key","user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "templates_app_id_key_key" ON "templates"("app_id", "key");

-- CreateIndex
CREATE INDEX "batches_status_updated_at_idx" ON "batches"("status", "updated_at");

-- CreateIndex
CREATE INDEX "topic_subscriptions_app_id_user_id_idx" ON "topic_subscriptions"("app_id", "user_id");

-- CreateIndex
CREATE INDEX "notifications_batch_id_idx" ON "notifications"("batch_id");

-- AddForeignKey
ALTER TABLE "template_versions" ADD CONSTRAINT "template_versions_template_id_fkey" FOREIGN KEY ("template_id") REFERENCES "templates"("id") ON DELETE CASCADE ON UPDATE CASCADE;
