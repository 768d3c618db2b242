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

-- The slow ingest path now hands the stored points back to the writer, which aggregates the
-- summary and the rollups from them with the same code as the fast path.
DROP FUNCTION ml_insert_staged_metric_points(bigint, bigint, bigint);

-- Moves staged points (the session's temp table ml_metric_staging) into ml_metric_log, skipping
-- exact duplicates of stored points and of each other; returns the points it stored.
-- plpgsql, not sql: the staging table is per session and does not exist when this is created.
CREATE FUNCTION ml_insert_staged_metric_points(p_run_id bigint, p_min_step bigint, p_max_step bigint)
RETURNS SETOF ml_metric_log
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    INSERT INTO ml_metric_log (run_id, metric_name, value, step, epoch, logged_at, kind)
    SELECT DISTINCT ON (s.metric_name, s.step, s.logged_at, s.value, float8send(s.value) = float8send('-0'::float8))
           p_run_id, s.metric_name, s.value, s.step, s.epoch, s.logged_at, s.kind
    FROM ml_metric_staging s
    WHERE NOT EXISTS (
        SELECT 1 FROM ml_metric_log m
        WHERE m.run_id = p_run_id AND m.step BETWEEN p_min_step AND p_max_step
          AND m.step = s.step AND m.metric_name = s.metric_name AND m.logged_at = s.logged_at
          AND ml_same_metric_value(m.value, s.value))
    RETURNING *;
END
$$;

-- log_ml_metric (the seed's single-point function) keeps the rollups too: one point is one
-- bucket at every level.
CREATE OR REPLACE FUNCTION log_ml_metric(
    p_run_id bigint,
    p_metric_name text,
    p_value double precision,
    p_step bigint DEFAULT 0,
    p_epoch integer DEFAULT NULL,
    p_kind text DEFAULT 'train',
    p_logged_at timestamptz DEFAULT now()
) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_step bigint := coalesce(p_step, 0);
    v_logged_at timestamptz := coalesce(p_logged_at, now());
    v_extreme double precision := CASE WHEN p_value <> 'NaN'::float8 THEN p_value END;
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    -- A point past the key's last stored step cannot repeat a stored one: skip the lookup.
    IF EXISTS (SELECT 1 FROM ml_metric_summary WHERE run_id = p_run_id AND metric_name = p_metric_name AND last_step >= v_step)
       AND EXISTS (SELECT 1 FROM ml_metric_log
                   WHERE run_id = p_run_id AND step = v_step AND metric_name = p_metric_name
                     AND logged_at = v_logged_at AND ml_same_metric_value(value, p_value)) THEN
        RETURN false;
    END IF;
    INSERT INTO ml_metric_log (run_id, metric_name, value, step, epoch, kind, logged_at)
    VALUES (p_run_id, p_metric_name, p_value, v_step, p_epoch, coalesce(p_kind, 'train'), v_logged_at);
    PERFORM ml_merge_metric_summary(p_run_id, ARRAY[p_metric_name], ARRAY[p_value], ARRAY[v_step], ARRAY[v_logged_at],
                                    ARRAY[v_extreme], ARRAY[v_extreme], ARRAY[1::bigint]);
    PERFORM ml_merge_metric_rollups(
        p_run_id, array_agg(p_metric_name), array_agg(level::smallint), array_agg(v_step >> (8 + 3 * level)),
        array_agg(1::bigint), array_agg(v_extreme), array_agg(v_extreme), array_agg(v_step), array_agg(p_value),
        array_agg(v_logged_at), array_agg(v_step), array_agg(p_value), array_agg(v_logged_at), array_agg(p_epoch))
    FROM generate_series(0, 18) AS level;
    RETURN true;
END
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
