-- AlterTable
ALTER TABLE "categories" ADD COLUMN     "frequency_cap_count" INTEGER,
ADD COLUMN     "frequency_cap_period" TEXT;

-- CreateTable
CREATE TABLE "send_pauses" (
    "app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "send_pauses_pkey" PRIMARY KEY ("app_id","kind","key")
);
