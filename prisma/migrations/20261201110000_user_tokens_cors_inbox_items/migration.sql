-- User tokens (the app's signing secret), CORS origins per app, and the inbox
-- items' link, sender, archive and delete. Written by hand: the offline diff
-- engine cannot replay the earlier migrations whose comments hold a semicolon.
-- AlterTable
ALTER TABLE "apps" ADD COLUMN     "cors_allowed_origins" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "user_token_secret" TEXT;

-- AlterTable
ALTER TABLE "inbox_items" ADD COLUMN     "archived_at" TIMESTAMPTZ(3),
ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "link" TEXT,
ADD COLUMN     "sender_id" TEXT;

-- CreateIndex
CREATE INDEX "apps_cors_allowed_origins_idx" ON "apps" USING GIN ("cors_allowed_origins");
