-- Rollups folded in the background (issue 12: ingest throughput).
--
-- Until now every batch merged its points into five rollup levels inside its own transaction:
-- five upserted rows per key per batch, measured at about 60 % of a 1,000-point batch's time
-- (16 writers here: 158k points/s with the rollups, 401k with chunks and summaries only). Now a
-- batch writes its chunks and the summary (which the runs table needs at once) and marks its
-- run as having unfolded chunks; a background folder (PgMetricRepository.foldPendingSlice,
-- driven by main's MetricMaintenance) merges many batches' chunks into the rollups at a time,
-- so a rollup row is written once per fold instead of once per batch.
--
-- What is folded is told by a watermark per run: a sealed chunk is in the rollups exactly when
-- its chunk_id <= ml_metric_fold.folded_through; open chunks never are. That holds because
--   * every writer of a run's chunks holds the run's metric lock (ml_lock_run_metrics, an
--     advisory lock) until it commits, and takes its chunk ids under it: a later transaction's
--     chunks have higher ids than any committed before it;
--   * sealing an open chunk gives it a fresh id (it may have been opened long before chunks the
--     folder has passed);
--   * the folder takes the same lock, folds chunks in id order and moves the watermark.
-- Readers (PgMetricRepository.series) add the raw points of unfolded chunks to the rollups in
-- one statement (one snapshot), as they already added the open chunk's.

CREATE TABLE ml_metric_fold (
    run_id          bigint  PRIMARY KEY REFERENCES ml_run (run_id) ON DELETE CASCADE,
    folded_through  bigint  NOT NULL DEFAULT 0,
    -- Set by a writer (at most once until the next fold), cleared by the folder when caught up.
    pending         boolean NOT NULL DEFAULT true
) WITH (fillfactor = 50);

CREATE INDEX ml_metric_fold_pending_idx ON ml_metric_fold (run_id) WHERE pending;

-- The folder reads a run's chunks past its watermark; readers the unfolded chunks of a key.
CREATE INDEX ml_metric_chunk_run_chunk_idx ON ml_metric_chunk (run_id, chunk_id);

-- Every sealed chunk so far was merged when it was written (0014): the watermark starts there.
INSERT INTO ml_metric_fold (run_id, folded_through, pending)
SELECT c.run_id, max(c.chunk_id), false
FROM ml_metric_chunk c
WHERE c.sealed AND EXISTS (SELECT 1 FROM ml_run r WHERE r.run_id = c.run_id)
GROUP BY c.run_id;

-- Marks a run as having chunks to fold. Called under the run's metric lock, which the folder
-- takes too, so the check and the write cannot race; no row is written while already pending.
CREATE FUNCTION ml_mark_metrics_unfolded(p_run_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ml_metric_fold WHERE run_id = p_run_id AND pending) THEN
        INSERT INTO ml_metric_fold AS f (run_id) VALUES (p_run_id)
        ON CONFLICT (run_id) DO UPDATE SET pending = true;
    END IF;
END
$$;

-- The batch paths (COPY fast path and staged path) begin here: they now leave the rollups to
-- the folder, so the run is marked as having unfolded chunks.
CREATE OR REPLACE FUNCTION ml_begin_metric_batch(p_run_id bigint, p_keys text[])
RETURNS TABLE (metric_name text, key_id integer, last_step bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    PERFORM ml_mark_metrics_unfolded(p_run_id);
    RETURN QUERY SELECT k.metric_name, k.key_id, s.last_step
                 FROM ml_metric_key_ids(p_keys) k
                 LEFT JOIN ml_metric_summary s ON s.run_id = p_run_id AND s.metric_name = k.metric_name;
END
$$;

-- Seals a (run, key)'s open chunk, if any, under a fresh id past the folder's watermark.
CREATE OR REPLACE FUNCTION ml_seal_open_chunk(p_run_id bigint, p_key_id integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ml_metric_chunk SET sealed = true, chunk_id = nextval('ml_metric_chunk_id_seq')
    WHERE run_id = p_run_id AND key_id = p_key_id AND NOT sealed;
    IF FOUND THEN
        PERFORM ml_mark_metrics_unfolded(p_run_id);
    END IF;
END
$$;

-- The folder's read: under the run's metric lock (the advisory lock only — not the run row, so
-- a soft-deleted run's chunks are folded too), the watermark and the next sealed chunks past it
-- in id order, at most p_limit of them. No rows when the run is gone.
CREATE FUNCTION ml_unfolded_chunks(p_run_id bigint, p_limit integer)
RETURNS TABLE (folded_through bigint, chunk_id bigint, key_id integer, steps bigint[], vals float8[], logged_at timestamptz[], epochs integer[])
LANGUAGE plpgsql AS $$
DECLARE
    v_through bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_metric_log:' || p_run_id, 0));
    SELECT f.folded_through INTO v_through FROM ml_metric_fold f WHERE f.run_id = p_run_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT v_through, c.chunk_id, c.key_id, c.steps, c.vals, c.logged_at, c.epochs
    FROM ml_metric_chunk c
    WHERE c.run_id = p_run_id AND c.sealed AND c.chunk_id > v_through
    ORDER BY c.chunk_id
    LIMIT p_limit;
    IF NOT FOUND THEN -- caught up (or the run has no chunks): nothing is pending
        UPDATE ml_metric_fold SET pending = false WHERE run_id = p_run_id;
    END IF;
END
$$;

-- The folder's write, in the same transaction as its read: the rollups of the chunks it read
-- (see ml_merge_metric_rollups), and the watermark moved to the last of them.
CREATE FUNCTION ml_fold_metric_chunks(
    p_run_id bigint,
    p_folded_through bigint,
    p_caught_up boolean,
    p_key_ids integer[],
    p_levels smallint[],
    p_buckets bigint[],
    p_counts bigint[],
    p_mins double precision[],
    p_maxs double precision[],
    p_first_steps bigint[],
    p_first_values double precision[],
    p_first_logged_at timestamptz[],
    p_last_steps bigint[],
    p_last_values double precision[],
    p_last_logged_at timestamptz[],
    p_last_epochs integer[]
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_merge_metric_rollups(p_run_id, p_key_ids, p_levels, p_buckets, p_counts, p_mins, p_maxs, p_first_steps,
                                    p_first_values, p_first_logged_at, p_last_steps, p_last_values, p_last_logged_at, p_last_epochs);
    UPDATE ml_metric_fold SET folded_through = p_folded_through, pending = NOT p_caught_up WHERE run_id = p_run_id;
END
$$;
