-- Provider receipts (e.g. Twilio status callbacks) on deliveries, found by the
-- provider's message id, and the per-app suppression list. Written by hand:
-- the offline diff engine cannot replay 20261201100600 (a ';' in its comment).
-- CreateEnum
CREATE TYPE "provider_status" AS ENUM ('sent', 'delivered', 'undelivered', 'failed');

-- AlterTable
ALTER TABLE "deliveries" ADD COLUMN     "provider_error_code" TEXT,
ADD COLUMN     "provider_status" "provider_status",
ADD COLUMN     "provider_status_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "suppressions" (
    "id" UUID NOT NULL,
    "app_id" TEXT NOT NULL,
    "channel" "channel" NOT NULL,
    "address" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "error_code" TEXT,
    "delivery_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "deliveries_provider_provider_message_id_idx" ON "deliveries"("provider", "provider_message_id") WHERE (channel = 'sms');

-- CreateIndex
CREATE INDEX "suppressions_app_id_id_idx" ON "suppressions"("app_id", "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "suppressions_app_id_channel_address_key" ON "suppressions"("app_id", "channel", "address");
