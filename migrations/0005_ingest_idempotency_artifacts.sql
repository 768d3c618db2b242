-- Retry-safe metric batches: a client that sends a batch with an idempotency key and does not
-- hear back (timeout, dropped connection) sends it again with the same key. The key is
-- recorded in the same transaction as the batch's points, so either both are stored or
-- neither is, and a retry finds the key and gets the original result back instead of being
-- applied again. The body hash tells a retry (same body) from a client bug (same key reused
-- for a different batch), which is refused.
CREATE TABLE ml_ingest_idempotency (
    idempotency_key  text        PRIMARY KEY,
    run_id           bigint      NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    -- SHA-256 of the request body, hex.
    body_hash        text        NOT NULL,
    -- The response of the first application ({"inserted": n, "duplicates": m}).
    result           jsonb       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_ingest_idempotency_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    CONSTRAINT ml_ingest_idempotency_hash_hex CHECK (body_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX ml_ingest_idempotency_run_idx ON ml_ingest_idempotency (run_id);
-- For pruning old keys (a retry comes within minutes; keys need not live forever).
CREATE INDEX ml_ingest_idempotency_created_idx ON ml_ingest_idempotency (created_at);

-- Stored artifact files are looked up by (run, path) on every read and verify; ml_artifact
-- already has that unique index (0001). Nothing more is needed for artifacts.
