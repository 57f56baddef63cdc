-- An Idempotency-Key now answers either one notification (a single send) or one batch (a bulk or topic send).
ALTER TABLE "idempotency_keys" ALTER COLUMN "notification_id" DROP NOT NULL;
ALTER TABLE "idempotency_keys" ADD COLUMN "batch_id" UUID;

-- Exactly one of the two. NOT VALID then VALIDATE: the check of existing rows runs without blocking writes.
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_one_target" CHECK (num_nonnulls("notification_id", "batch_id") = 1) NOT VALID;
ALTER TABLE "idempotency_keys" VALIDATE CONSTRAINT "idempotency_keys_one_target";
