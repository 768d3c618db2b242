-- Rollups folded in the background (issue 12: ingest throughput).
--
-- Until now every batch merged its points into five rollup levels inside its own transaction:
-- five upserted rows per key per batch, measured at about 60 % of a 1,000-point batch's time
-- (16 writers here: 158k points/s with the rollups, 401k with chunks and summaries only). Now a
-- batch writes its chunks and the summary (which the runs table needs at once) and marks its
-- run as having unfolded chunks (one row write); a background folder in main
-- (PgMetricRepository.foldPendingSlice, services/metric-maintenance.ts) folds a run once it has
-- gathered many points (or they have waited a while), so a rollup row is rewritten once for
-- many batches instead of once per batch: the work moves off the writers and shrinks.
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
    run_id           bigint      PRIMARY KEY REFERENCES ml_run (run_id) ON DELETE CASCADE,
    folded_through   bigint      NOT NULL DEFAULT 0,
    -- Set by writers, cleared by the folder once caught up.
    pending          boolean     NOT NULL DEFAULT true,
    -- Points written since the last fold (counted as written, duplicates included) and when the
    -- first of them was: the folder waits for many of them, or for them to age, so one fold
    -- merges many batches and a rollup row is rewritten once for all of them.
    unfolded_points  bigint      NOT NULL DEFAULT 0,
    pending_since    timestamptz
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

-- Marks a run as having p_points more points to fold. Called under the run's metric lock,
-- which the folder takes too: one row write a batch (or a sealed single-point chunk).
CREATE FUNCTION ml_mark_metrics_unfolded(p_run_id bigint, p_points bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ml_metric_fold AS f (run_id, unfolded_points, pending_since) VALUES (p_run_id, p_points, now())
    ON CONFLICT (run_id) DO UPDATE SET
        pending = true,
        unfolded_points = f.unfolded_points + EXCLUDED.unfolded_points,
        pending_since = coalesce(f.pending_since, EXCLUDED.pending_since);
$$;

-- The batch paths (COPY fast path and staged path) begin here: they now leave the rollups to
-- the folder, so the run is marked with the batch's points.
DROP FUNCTION ml_begin_metric_batch(bigint, text[]);
CREATE FUNCTION ml_begin_metric_batch(p_run_id bigint, p_keys text[], p_points bigint)
RETURNS TABLE (metric_name text, key_id integer, last_step bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    PERFORM ml_mark_metrics_unfolded(p_run_id, p_points);
    RETURN QUERY SELECT k.metric_name, k.key_id, s.last_step
                 FROM ml_metric_key_ids(p_keys) k
                 LEFT JOIN ml_metric_summary s ON s.run_id = p_run_id AND s.metric_name = k.metric_name;
END
$$;

-- Seals a (run, key)'s open chunk, if any, under a fresh id past the folder's watermark.
CREATE OR REPLACE FUNCTION ml_seal_open_chunk(p_run_id bigint, p_key_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_points integer;
BEGIN
    UPDATE ml_metric_chunk SET sealed = true, chunk_id = nextval('ml_metric_chunk_id_seq')
    WHERE run_id = p_run_id AND key_id = p_key_id AND NOT sealed
    RETURNING point_count INTO v_points;
    IF FOUND THEN
        PERFORM ml_mark_metrics_unfolded(p_run_id, v_points);
    END IF;
END
$$;

-- One point (the seed's log_ml_metric), restated from 0014 with one change: the open chunk is
-- sealed at 64 points instead of 256. Every point rewrites the open chunk row; measured here, a
-- point cost ~1.3 ms while the chunk was small and ~3.7 ms near 256 points (a 4 KB row), so a
-- smaller open chunk keeps the MLflow log-metric path fast; the sealed chunks of single points
-- carry ~2.7 bytes of row overhead a point more, and a seal (1 in 64) marks the run for a fold.
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
    v_kind text := coalesce(p_kind, 'train');
    v_extreme double precision := CASE WHEN p_value <> 'NaN'::float8 THEN p_value END;
    v_key integer;
    v_count integer;
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    SELECT k.key_id INTO v_key FROM ml_metric_key_ids(ARRAY[p_metric_name]) k;
    -- A point past the key's last stored step cannot repeat a stored one: skip the lookup.
    IF EXISTS (SELECT 1 FROM ml_metric_summary WHERE run_id = p_run_id AND metric_name = p_metric_name AND last_step >= v_step)
       AND EXISTS (SELECT 1 FROM ml_metric_chunk c
                   CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at) AS u(step, value, logged_at)
                   WHERE c.run_id = p_run_id AND c.key_id = v_key AND c.first_step <= v_step AND c.last_step >= v_step
                     AND u.step = v_step AND u.logged_at = v_logged_at AND ml_same_metric_value(u.value, p_value)) THEN
        RETURN false;
    END IF;
    UPDATE ml_metric_chunk SET
        steps = steps || v_step,
        vals = vals || p_value,
        logged_at = logged_at || v_logged_at,
        epochs = CASE WHEN epochs IS NULL AND p_epoch IS NULL THEN NULL
                      ELSE coalesce(epochs, array_fill(NULL::integer, ARRAY[point_count])) || p_epoch END,
        point_count = point_count + 1,
        first_step = LEAST(first_step, v_step),
        last_step = GREATEST(last_step, v_step)
    WHERE run_id = p_run_id AND key_id = v_key AND NOT sealed AND kind = v_kind
    RETURNING point_count INTO v_count;
    IF NOT FOUND THEN
        PERFORM ml_seal_open_chunk(p_run_id, v_key); -- an open chunk of another kind
        INSERT INTO ml_metric_chunk (run_id, key_id, first_step, last_step, sealed, kind, point_count, steps, vals, logged_at, epochs)
        VALUES (p_run_id, v_key, v_step, v_step, false, v_kind, 1, ARRAY[v_step], ARRAY[p_value], ARRAY[v_logged_at],
                CASE WHEN p_epoch IS NOT NULL THEN ARRAY[p_epoch] END);
        v_count := 1;
    END IF;
    PERFORM ml_merge_metric_summary(p_run_id, ARRAY[p_metric_name], ARRAY[p_value], ARRAY[v_step], ARRAY[v_logged_at],
                                    ARRAY[v_extreme], ARRAY[v_extreme], ARRAY[1::bigint]);
    IF v_count >= 64 THEN
        PERFORM ml_seal_open_chunk(p_run_id, v_key);
    END IF;
    RETURN true;
END
$$;

-- The rollup merge of 0014 took one run; the folder merges many runs' buckets in one statement.
-- Nothing else merges rollups now (0014's ml_merge_chunk_rollups served its upgrade only).
DROP FUNCTION ml_merge_chunk_rollups(bigint, bigint[]);
DROP FUNCTION ml_merge_metric_rollups(bigint, integer[], smallint[], bigint[], bigint[], double precision[], double precision[],
                                      bigint[], double precision[], timestamptz[], bigint[], double precision[], timestamptz[], integer[]);

-- The folder's read. Visits pending runs after p_after_run (in run order, so every pending run
-- has its turn) that hold at least p_min_unfolded unfolded points or have waited p_max_age, at
-- most p_max_runs of them, and claims the next sealed chunks past each one's
-- watermark in id order, about p_max_points points in all (at least one chunk of a run it
-- visits). A run whose writer holds its metric lock is skipped, not waited for: the lock is
-- tried, and held until the fold commits. A run found caught up is no longer pending (and
-- comes back as one row without a chunk).
CREATE FUNCTION ml_claim_unfolded_chunks(p_after_run bigint, p_max_runs integer, p_max_points integer,
                                          p_min_unfolded bigint, p_max_age interval)
RETURNS TABLE (run_id bigint, caught_up boolean, chunk_id bigint, key_id integer,
               steps bigint[], vals float8[], logged_at timestamptz[], epochs integer[])
LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint;
    v_through bigint;
    v_budget bigint := p_max_points;
    v_upto bigint;
    v_points bigint;
    v_more boolean;
BEGIN
    FOR v_run IN SELECT f.run_id FROM ml_metric_fold f
                 WHERE f.pending AND f.run_id > p_after_run
                   AND (f.unfolded_points >= p_min_unfolded OR f.pending_since IS NULL OR f.pending_since <= now() - p_max_age)
                 ORDER BY f.run_id LIMIT p_max_runs LOOP
        EXIT WHEN v_budget <= 0;
        CONTINUE WHEN NOT pg_try_advisory_xact_lock(hashtextextended('ml_metric_log:' || v_run, 0));
        -- Read again under the lock: another folder may have moved the watermark meanwhile.
        SELECT f.folded_through INTO v_through FROM ml_metric_fold f WHERE f.run_id = v_run AND f.pending;
        CONTINUE WHEN NOT FOUND;
        SELECT max(b.chunk_id), sum(b.point_count) INTO v_upto, v_points
        FROM (SELECT c.chunk_id, c.point_count, sum(c.point_count) OVER (ORDER BY c.chunk_id) - c.point_count AS before
              FROM ml_metric_chunk c
              WHERE c.run_id = v_run AND c.sealed AND c.chunk_id > v_through) b
        WHERE b.before < v_budget;
        IF v_upto IS NULL THEN
            UPDATE ml_metric_fold f SET pending = false, unfolded_points = 0, pending_since = NULL WHERE f.run_id = v_run;
            -- A row without a chunk: the run was visited and found caught up.
            RETURN QUERY SELECT v_run, true, NULL::bigint, NULL::integer, NULL::bigint[], NULL::float8[], NULL::timestamptz[], NULL::integer[];
            CONTINUE;
        END IF;
        v_more := EXISTS (SELECT 1 FROM ml_metric_chunk c WHERE c.run_id = v_run AND c.sealed AND c.chunk_id > v_upto);
        v_budget := v_budget - v_points;
        RETURN QUERY
        SELECT v_run, NOT v_more, c.chunk_id, c.key_id, c.steps, c.vals, c.logged_at, c.epochs
        FROM ml_metric_chunk c
        WHERE c.run_id = v_run AND c.sealed AND c.chunk_id > v_through AND c.chunk_id <= v_upto
        ORDER BY c.chunk_id;
    END LOOP;
END
$$;

-- The folder's write, in the same transaction as its claim: the rollup buckets of the claimed
-- chunks merged (one row per run, key, level and bucket), and each run's watermark moved to
-- the last chunk claimed of it.
CREATE FUNCTION ml_fold_metric_chunks(
    p_run_ids bigint[],
    p_folded_through bigint[],
    p_caught_up boolean[],
    p_bucket_run_ids bigint[],
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
LANGUAGE sql AS $$
    INSERT INTO ml_metric_rollup AS r
        (run_id, key_id, level, bucket, point_count, min_value, max_value, first_step, first_value,
         first_logged_at, last_step, last_value, last_logged_at, last_epoch)
    SELECT u.*
    FROM unnest(p_bucket_run_ids, p_key_ids, p_levels, p_buckets, p_counts, p_mins, p_maxs, p_first_steps, p_first_values,
                p_first_logged_at, p_last_steps, p_last_values, p_last_logged_at, p_last_epochs) AS u
    ON CONFLICT (run_id, key_id, level, bucket) DO UPDATE SET
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
    UPDATE ml_metric_fold f SET folded_through = u.through, pending = NOT u.caught_up,
        unfolded_points = CASE WHEN u.caught_up THEN 0 ELSE f.unfolded_points END,
        pending_since = CASE WHEN u.caught_up THEN NULL ELSE f.pending_since END
    FROM unnest(p_run_ids, p_folded_through, p_caught_up) AS u(run_id, through, caught_up)
    WHERE f.run_id = u.run_id;
$$;
