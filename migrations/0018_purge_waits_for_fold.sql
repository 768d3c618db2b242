-- The background purge of a deleted run's points waits for a fold of that run in flight
-- (issue 12's folder, 0016). A fold claims a run's chunks under the run's metric lock and writes
-- their rollup rows when it commits; the purge took no lock, so it could delete the run's
-- rollups, find none left and finish while such a fold was still running — whose rollup rows
-- then stayed behind for a run that no longer exists (seen in CI: 270 rows). Now each purge
-- step takes the run's metric lock first: a fold in flight commits before the purge looks, and
-- its rows are deleted with the rest. A fold that starts later finds the lock held (it only
-- tries it) or, once the chunks are gone, nothing to fold.
CREATE OR REPLACE FUNCTION ml_purge_metrics(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint;
    v_removed integer;
BEGIN
    SELECT run_id INTO v_run FROM ml_metric_purge ORDER BY queued_at, run_id LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_metric_log:' || v_run, 0));
    DELETE FROM ml_metric_chunk c USING (
        SELECT key_id, first_step, chunk_id FROM ml_metric_chunk WHERE run_id = v_run LIMIT p_limit) d
    WHERE c.run_id = v_run AND c.key_id = d.key_id AND c.first_step = d.first_step AND c.chunk_id = d.chunk_id;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    IF v_removed = 0 THEN
        DELETE FROM ml_metric_rollup r USING (
            SELECT key_id, level, bucket FROM ml_metric_rollup WHERE run_id = v_run LIMIT p_limit) d
        WHERE r.run_id = v_run AND r.key_id = d.key_id AND r.level = d.level AND r.bucket = d.bucket;
        GET DIAGNOSTICS v_removed = ROW_COUNT;
    END IF;
    IF v_removed = 0 THEN
        DELETE FROM ml_metric_purge WHERE run_id = v_run;
        RETURN 1;
    END IF;
    RETURN v_removed;
END
$$;
