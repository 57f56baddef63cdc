-- AlterTable
ALTER TABLE "users" ADD COLUMN     "webhook_disabled_at" TIMESTAMPTZ(3),
ADD COLUMN     "webhook_secret" TEXT,
ADD COLUMN     "webhook_url" TEXT;

-- CreateTable
CREATE TABLE "inbox_items" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "notification_id" UUID NOT NULL,
    "delivery_id" UUID NOT NULL,
    "title" TEXT,
    "body" TEXT NOT NULL,
    "data" JSONB,
    "read_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbox_items_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inbox_items_delivery_id_key" ON "inbox_items"("delivery_id");

-- CreateIndex
CREATE INDEX "inbox_items_app_id_user_id_id_idx" ON "inbox_items"("app_id", "user_id", "id" DESC);

-- CreateIndex
CREATE INDEX "inbox_items_app_id_user_id_read_at_idx" ON "inbox_items"("app_id", "user_id", "read_at");
