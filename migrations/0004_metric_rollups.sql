-- Precomputed min/max rollups of every metric series, so a chart of a million-point series is
-- drawn from a few thousand rows instead of a scan of the points (a GROUP BY over 1M raw rows
-- takes 350-500 ms; the target is 50 ms).
--
-- Level L groups steps into buckets of 2^(8 + 3L) steps (256, 2048, 16384, …, 2^62 at
-- level 18): bucket = step >> (8 + 3L). Every writer merges the aggregates of the points it
-- stored in the same transaction (ml_merge_metric_rollups), so rollups never lag the points.
CREATE TABLE ml_metric_rollup (
    run_id           bigint           NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    metric_name      text             NOT NULL,
    level            smallint         NOT NULL,
    bucket           bigint           NOT NULL,
    point_count      bigint           NOT NULL,
    -- Over the non-NaN values; NULL while every value in the bucket is NaN.
    min_value        double precision,
    max_value        double precision,
    first_step       bigint           NOT NULL,
    first_value      double precision NOT NULL,
    first_logged_at  timestamptz      NOT NULL,
    last_step        bigint           NOT NULL,
    last_value       double precision NOT NULL,
    last_logged_at   timestamptz      NOT NULL,
    last_epoch       integer,
    PRIMARY KEY (run_id, metric_name, level, bucket),
    CONSTRAINT ml_metric_rollup_level_range CHECK (level BETWEEN 0 AND 18)
);

CREATE FUNCTION ml_merge_metric_rollups(
    p_run_id bigint,
    p_keys text[],
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
LANGUAGE sql AS $$
    INSERT INTO ml_metric_rollup AS r
        (run_id, metric_name, level, bucket, point_count, min_value, max_value, first_step, first_value,
         first_logged_at, last_step, last_value, last_logged_at, last_epoch)
    SELECT p_run_id, u.*
    FROM unnest(p_keys, p_levels, p_buckets, p_counts, p_mins, p_maxs, p_first_steps, p_first_values,
                p_first_logged_at, p_last_steps, p_last_values, p_last_logged_at, p_last_epochs) AS u
    ON CONFLICT (run_id, metric_name, level, bucket) DO UPDATE SET
        point_count = r.point_count + EXCLUDED.point_count,
        min_value = LEAST(r.min_value, EXCLUDED.min_value),
        max_value = GREATEST(r.max_value, EXCLUDED.max_value),
        first_value = CASE WHEN (EXCLUDED.first_step, EXCLUDED.first_logged_at) < (r.first_step, r.first_logged_at)
                           THEN EXCLUDED.first_value ELSE r.first_value END,
        first_logged_at = CASE WHEN (EXCLUDED.first_step, EXCLUDED.first_logged_at) < (r.first_step, r.first_logged_at)
                               THEN EXCLUDED.first_logged_at ELSE r.first_logged_at END,
        first_step = LEAST(r.first_step, EXCLUDED.first_step),
        last_value = CASE WHEN (EXCLUDED.last_step, EXCLUDED.last_logged_at) >= (r.last_step, r.last_logged_at)
                          THEN EXCLUDED.last_value ELSE r.last_value END,
        last_logged_at = CASE WHEN (EXCLUDED.last_step, EXCLUDED.last_logged_at) >= (r.last_step, r.last_logged_at)
                              THEN EXCLUDED.last_logged_at ELSE r.last_logged_at END,
        last_epoch = CASE WHEN (EXCLUDED.last_step, EXCLUDED.last_logged_at) >= (r.last_step, r.last_logged_at)
                          THEN EXCLUDED.last_epoch ELSE r.last_epoch END,
        last_step = GREATEST(r.last_step, EXCLUDED.last_step);
$$;


-- Run search compares params and tags numerically when the filter gives a number
-- (params.lr < 0.01). Values are text (MLflow) or JSON numbers (the /v1 API): this reads both,
-- and is NULL for text that is not a number instead of failing the whole search.
CREATE FUNCTION hypercube_numeric(p_text text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_text ~ '^\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|NaN|Infinity|-Infinity)\s*$'
                THEN p_text::double precision END
$$;

-- The first statement of a metric batch, in one round trip: lock the run's metric writers and
-- read the last stored step of the batch's keys (which decides the append-only fast path).
CREATE FUNCTION ml_begin_metric_batch(p_run_id bigint, p_keys text[])
RETURNS TABLE (metric_name text, last_step bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    RETURN QUERY SELECT s.metric_name, s.last_step FROM ml_metric_summary s
                 WHERE s.run_id = p_run_id AND s.metric_name = ANY(p_keys);
END
$$;
