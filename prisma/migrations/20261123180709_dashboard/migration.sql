-- CreateTable
CREATE TABLE "delivery_stats" (
    "app_id" TEXT NOT NULL,
    "span" SMALLINT NOT NULL,
    "bucket" TIMESTAMPTZ(0) NOT NULL,
    "channel" "channel" NOT NULL,
    "priority" "priority" NOT NULL,
    "outcome" TEXT NOT NULL,
    "provider" TEXT NOT NULL DEFAULT '',
    "error_code" TEXT NOT NULL DEFAULT '',
    "count" INTEGER NOT NULL,
    "latency" INTEGER[],

    CONSTRAINT "delivery_stats_pkey" PRIMARY KEY ("app_id","span","bucket","channel","priority","outcome","provider","error_code")
);

-- CreateIndex
CREATE INDEX "deliveries_app_id_status_last_error_code_id_idx" ON "deliveries"("app_id", "status", "last_error_code", "id" DESC);

-- Element-wise sum of two histograms (arrays of equal length), for upserting delivery_stats.
CREATE OR REPLACE FUNCTION int_array_add(a INTEGER[], b INTEGER[]) RETURNS INTEGER[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;
