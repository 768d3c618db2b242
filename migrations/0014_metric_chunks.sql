-- Metric storage for a hundred million points (issue 12).
--
-- Before: one heap row per point in ml_metric_log (about 75 bytes with its header), a BRIN index
-- that only narrows reads while each run's rows lie together on disk (parallel runs interleave
-- them), 19 rollup rows rewritten per single logged point, and a run's deletion scanning the
-- whole table. Now:
--   * ml_metric_key: every metric name once; points refer to it by a 4-byte id.
--   * ml_metric_chunk: points in chunks of one (run, key, kind), each chunk one row holding up
--     to 1,024 points as parallel arrays (steps, values, times, epochs): 24-28 bytes a point, and
--     a series is one B-tree range on (run_id, key_id, first_step). Hash-partitioned by run, so
--     a run's chunks and their vacuum stay in one sixteenth of the table.
--   * A batch writes one chunk row per key; a single point (MLflow's log-metric) is appended to
--     the key's one open chunk (one row rewritten) and the summary (one row); rollups are merged
--     when a chunk is sealed, so a point costs two row writes plus 1/256 of a seal.
--   * ml_metric_rollup keeps 5 levels (buckets of 2^8, 2^13, 2^18, 2^23, 2^28 steps) of sealed
--     chunks; a chart adds the open chunk's few raw points (see PgMetricRepository.series).
--   * Deleting a run queues its points in ml_metric_purge; ml_purge_metrics removes them in
--     bounded slices in the background (the run is gone from every view with its row).

CREATE TABLE ml_metric_key (
    key_id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    metric_name  text NOT NULL,
    CONSTRAINT ml_metric_key_name_unique UNIQUE (metric_name),
    CONSTRAINT ml_metric_key_name_length CHECK (char_length(metric_name) BETWEEN 1 AND 250)
);

-- The ids of metric names, adding the names not seen before.
CREATE FUNCTION ml_metric_key_ids(p_names text[]) RETURNS TABLE (metric_name text, key_id integer)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ml_metric_key (metric_name)
    SELECT DISTINCT n FROM unnest(p_names) AS n
    WHERE NOT EXISTS (SELECT 1 FROM ml_metric_key k WHERE k.metric_name = n)
    ON CONFLICT ON CONSTRAINT ml_metric_key_name_unique DO NOTHING;
    RETURN QUERY SELECT k.metric_name, k.key_id FROM ml_metric_key k WHERE k.metric_name = ANY(p_names);
END
$$;

CREATE SEQUENCE ml_metric_chunk_id_seq AS bigint;

-- No foreign key to ml_run, as before (see 0001): every writer locks the run row first, and a
-- deleted run's chunks are purged in the background.
CREATE TABLE ml_metric_chunk (
    run_id       bigint        NOT NULL,
    key_id       integer       NOT NULL,
    first_step   bigint        NOT NULL,
    chunk_id     bigint        NOT NULL DEFAULT nextval('ml_metric_chunk_id_seq'),
    last_step    bigint        NOT NULL,
    -- An open chunk takes single points and is not yet in the rollups; at most one per (run, key).
    sealed       boolean       NOT NULL,
    kind         text          NOT NULL,
    point_count  integer       NOT NULL,
    -- Parallel arrays, one element per point; epochs is NULL when no point of the chunk has one.
    -- Not necessarily in step order (an open chunk takes points as they come): readers sort.
    steps        bigint[]      NOT NULL,
    vals         float8[]      NOT NULL,
    logged_at    timestamptz[] NOT NULL,
    epochs       integer[],
    PRIMARY KEY (run_id, key_id, first_step, chunk_id),
    CONSTRAINT ml_metric_chunk_kind_valid CHECK (kind IN ('train', 'validation', 'test', 'system')),
    CONSTRAINT ml_metric_chunk_epoch_non_negative CHECK (epochs IS NULL OR 0 <= ALL (epochs)),
    CONSTRAINT ml_metric_chunk_arrays_match CHECK (
        cardinality(steps) = point_count AND cardinality(vals) = point_count AND cardinality(logged_at) = point_count
        AND (epochs IS NULL OR cardinality(epochs) = point_count))
) PARTITION BY HASH (run_id);

DO $$
BEGIN
    FOR i IN 0..15 LOOP
        EXECUTE format('CREATE TABLE ml_metric_chunk_p%s PARTITION OF ml_metric_chunk FOR VALUES WITH (MODULUS 16, REMAINDER %s)', i, i);
    END LOOP;
END
$$;

CREATE UNIQUE INDEX ml_metric_chunk_open_idx ON ml_metric_chunk (run_id, key_id) WHERE NOT sealed;

-- Every point as a row, for readers that want SQL over points (tests, MLflow's paged history).
-- A filter on run_id and metric_name reaches the chunk index through the key.
CREATE VIEW ml_metric_point AS
SELECT c.run_id, k.metric_name, c.key_id, u.step, u.value, u.logged_at, u.epoch, c.kind
FROM ml_metric_chunk c
JOIN ml_metric_key k ON k.key_id = c.key_id
CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at, c.epochs) AS u(step, value, logged_at, epoch);

-- ---- rollups: 5 levels over sealed chunks (rebuilt from the points below) ----

DROP FUNCTION ml_merge_metric_rollups(bigint, text[], smallint[], bigint[], bigint[], double precision[], double precision[],
                                      bigint[], double precision[], timestamptz[], bigint[], double precision[], timestamptz[], integer[]);
DROP TABLE ml_metric_rollup;

CREATE TABLE ml_metric_rollup (
    run_id           bigint           NOT NULL,
    key_id           integer          NOT NULL,
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
    PRIMARY KEY (run_id, key_id, level, bucket),
    CONSTRAINT ml_metric_rollup_level_range CHECK (level BETWEEN 0 AND 4)
) WITH (fillfactor = 70);

-- Every batch updates the same few rollup and summary rows of its run: room left in each page
-- lets those updates stay on the page (HOT), without new index entries.
ALTER TABLE ml_metric_summary SET (fillfactor = 70);

-- Level L buckets hold 2^(8 + 5L) steps (see metric-aggregates.ts, which must agree).
CREATE FUNCTION ml_rollup_shift(p_level integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 8 + 5 * p_level $$;

CREATE FUNCTION ml_merge_metric_rollups(
    p_run_id bigint,
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
    SELECT p_run_id, u.*
    FROM unnest(p_key_ids, p_levels, p_buckets, p_counts, p_mins, p_maxs, p_first_steps, p_first_values,
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
$$;

-- Merges the points of the given chunks into the rollups of every level (computed in SQL: used
-- when an open chunk is sealed, and once by this upgrade).
CREATE FUNCTION ml_merge_chunk_rollups(p_run_id bigint, p_chunk_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    SELECT ml_merge_metric_rollups(p_run_id, array_agg(a.key_id), array_agg(a.level), array_agg(a.bucket), array_agg(a.n),
                                   array_agg(a.min_value), array_agg(a.max_value), array_agg(a.first_step), array_agg(a.first_value),
                                   array_agg(a.first_logged_at), array_agg(a.last_step), array_agg(a.last_value),
                                   array_agg(a.last_logged_at), array_agg(a.last_epoch))
    FROM (
        SELECT c.key_id, l.level::smallint AS level, u.step >> ml_rollup_shift(l.level) AS bucket, count(*) AS n,
               min(u.value) FILTER (WHERE u.value <> 'NaN'::float8) AS min_value,
               max(u.value) FILTER (WHERE u.value <> 'NaN'::float8) AS max_value,
               (array_agg(u.step ORDER BY u.step, u.logged_at))[1] AS first_step,
               (array_agg(u.value ORDER BY u.step, u.logged_at))[1] AS first_value,
               (array_agg(u.logged_at ORDER BY u.step, u.logged_at))[1] AS first_logged_at,
               (array_agg(u.step ORDER BY u.step DESC, u.logged_at DESC))[1] AS last_step,
               (array_agg(u.value ORDER BY u.step DESC, u.logged_at DESC))[1] AS last_value,
               (array_agg(u.logged_at ORDER BY u.step DESC, u.logged_at DESC))[1] AS last_logged_at,
               (array_agg(u.epoch ORDER BY u.step DESC, u.logged_at DESC))[1] AS last_epoch
        FROM ml_metric_chunk c
        CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at, c.epochs) AS u(step, value, logged_at, epoch)
        CROSS JOIN generate_series(0, 4) AS l(level)
        WHERE c.run_id = p_run_id AND c.chunk_id = ANY(p_chunk_ids)
        GROUP BY c.key_id, l.level, u.step >> ml_rollup_shift(l.level)
    ) a
    HAVING count(*) > 0;
$$;

-- ---- the upgrade: points of ml_metric_log into chunks, rollups rebuilt from them ----

INSERT INTO ml_metric_key (metric_name) SELECT DISTINCT metric_name FROM ml_metric_summary ORDER BY 1;
INSERT INTO ml_metric_key (metric_name)
SELECT DISTINCT metric_name FROM ml_metric_log m WHERE NOT EXISTS (SELECT 1 FROM ml_metric_key k WHERE k.metric_name = m.metric_name);

-- Chunks of up to 1,024 points per (run, key, kind). The arrays need no particular order (readers
-- sort), only the same order in all four, which one aggregation pass gives them.
INSERT INTO ml_metric_chunk (run_id, key_id, first_step, last_step, sealed, kind, point_count, steps, vals, logged_at, epochs)
SELECT p.run_id, p.key_id, min(p.step), max(p.step), true, p.kind, count(*),
       array_agg(p.step), array_agg(p.value), array_agg(p.logged_at),
       CASE WHEN bool_or(p.epoch IS NOT NULL) THEN array_agg(p.epoch) END
FROM (
    SELECT m.run_id, k.key_id, m.kind, m.step, m.value, m.logged_at, m.epoch,
           (row_number() OVER (PARTITION BY m.run_id, k.key_id, m.kind ORDER BY m.step, m.logged_at) - 1) / 1024 AS part
    FROM ml_metric_log m JOIN ml_metric_key k ON k.metric_name = m.metric_name
    WHERE EXISTS (SELECT 1 FROM ml_run r WHERE r.run_id = m.run_id)
) p
GROUP BY p.run_id, p.key_id, p.kind, p.part;

-- Level 0 in one sorted pass over the points (window functions, not ordered aggregates: those
-- sort once each), then each level from the one below.
INSERT INTO ml_metric_rollup (run_id, key_id, level, bucket, point_count, min_value, max_value, first_step, first_value,
                              first_logged_at, last_step, last_value, last_logged_at, last_epoch)
SELECT DISTINCT ON (b.run_id, b.key_id, b.bucket)
       b.run_id, b.key_id, 0, b.bucket, count(*) OVER w,
       min(b.value) FILTER (WHERE b.value <> 'NaN'::float8) OVER w, max(b.value) FILTER (WHERE b.value <> 'NaN'::float8) OVER w,
       first_value(b.step) OVER w, first_value(b.value) OVER w, first_value(b.logged_at) OVER w,
       last_value(b.step) OVER w, last_value(b.value) OVER w, last_value(b.logged_at) OVER w, last_value(b.epoch) OVER w
FROM (
    SELECT m.run_id, k.key_id, m.step >> 8 AS bucket, m.step, m.value, m.logged_at, m.epoch
    FROM ml_metric_log m JOIN ml_metric_key k ON k.metric_name = m.metric_name
    WHERE EXISTS (SELECT 1 FROM ml_run r WHERE r.run_id = m.run_id)
) b
WINDOW w AS (PARTITION BY b.run_id, b.key_id, b.bucket ORDER BY b.step, b.logged_at
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
ORDER BY b.run_id, b.key_id, b.bucket;

DO $$
BEGIN
    FOR l IN 1..4 LOOP
        INSERT INTO ml_metric_rollup (run_id, key_id, level, bucket, point_count, min_value, max_value, first_step, first_value,
                                      first_logged_at, last_step, last_value, last_logged_at, last_epoch)
        SELECT r.run_id, r.key_id, l, r.bucket >> 5, sum(r.point_count), min(r.min_value), max(r.max_value),
               (array_agg(r.first_step ORDER BY r.first_step, r.first_logged_at))[1],
               (array_agg(r.first_value ORDER BY r.first_step, r.first_logged_at))[1],
               (array_agg(r.first_logged_at ORDER BY r.first_step, r.first_logged_at))[1],
               (array_agg(r.last_step ORDER BY r.last_step DESC, r.last_logged_at DESC))[1],
               (array_agg(r.last_value ORDER BY r.last_step DESC, r.last_logged_at DESC))[1],
               (array_agg(r.last_logged_at ORDER BY r.last_step DESC, r.last_logged_at DESC))[1],
               (array_agg(r.last_epoch ORDER BY r.last_step DESC, r.last_logged_at DESC))[1]
        FROM ml_metric_rollup r WHERE r.level = l - 1
        GROUP BY r.run_id, r.key_id, r.bucket >> 5;
    END LOOP;
END
$$;

DROP FUNCTION ml_insert_staged_metric_points(bigint, bigint, bigint);
DROP TRIGGER ml_run_delete_metrics ON ml_run;
DROP FUNCTION ml_run_delete_metrics();
DROP TABLE ml_metric_log;

-- ---- writers ----

-- Seals a (run, key)'s open chunk, if any: its points join the rollups.
CREATE FUNCTION ml_seal_open_chunk(p_run_id bigint, p_key_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_chunk bigint;
BEGIN
    UPDATE ml_metric_chunk SET sealed = true
    WHERE run_id = p_run_id AND key_id = p_key_id AND NOT sealed
    RETURNING chunk_id INTO v_chunk;
    IF FOUND THEN
        PERFORM ml_merge_chunk_rollups(p_run_id, ARRAY[v_chunk]);
    END IF;
END
$$;

-- The first statement of a metric batch, in one round trip: lock the run's metric writers, give
-- the batch's keys their ids, and read the last stored step of each (which decides the
-- append-only fast path).
DROP FUNCTION ml_begin_metric_batch(bigint, text[]);
CREATE FUNCTION ml_begin_metric_batch(p_run_id bigint, p_keys text[])
RETURNS TABLE (metric_name text, key_id integer, last_step bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_run_metrics(p_run_id);
    RETURN QUERY SELECT k.metric_name, k.key_id, s.last_step
                 FROM ml_metric_key_ids(p_keys) k
                 LEFT JOIN ml_metric_summary s ON s.run_id = p_run_id AND s.metric_name = k.metric_name;
END
$$;

-- Moves staged points (the session's temp table ml_metric_staging: key_id, value, step, epoch,
-- logged_at, kind) into sealed chunks, skipping exact duplicates of stored points and of each
-- other; returns the points it stored, from which the writer merges the summary and the rollups
-- (plpgsql, not sql: the staging table is per session and does not exist when this is created).
CREATE FUNCTION ml_insert_staged_metric_points(p_run_id bigint, p_min_step bigint, p_max_step bigint)
RETURNS TABLE (key_id integer, value double precision, step bigint, epoch integer, logged_at timestamptz, kind text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH stored AS (
        SELECT c.key_id, u.step, u.value, u.logged_at
        FROM ml_metric_chunk c
        CROSS JOIN LATERAL unnest(c.steps, c.vals, c.logged_at) AS u(step, value, logged_at)
        WHERE c.run_id = p_run_id AND c.key_id IN (SELECT DISTINCT s.key_id FROM ml_metric_staging s)
          AND c.first_step <= p_max_step AND c.last_step >= p_min_step
    ), fresh AS (
        SELECT DISTINCT ON (s.key_id, s.step, s.logged_at, s.value, float8send(s.value) = float8send('-0'::float8))
               s.key_id, s.value, s.step, s.epoch, s.logged_at, s.kind
        FROM ml_metric_staging s
        WHERE NOT EXISTS (
            SELECT 1 FROM stored m
            WHERE m.key_id = s.key_id AND m.step = s.step AND m.logged_at = s.logged_at
              AND ml_same_metric_value(m.value, s.value))
    ), inserted AS (
        INSERT INTO ml_metric_chunk (run_id, key_id, first_step, last_step, sealed, kind, point_count, steps, vals, logged_at, epochs)
        SELECT p_run_id, f.key_id, min(f.step), max(f.step), true, f.kind, count(*),
               array_agg(f.step ORDER BY f.step, f.logged_at), array_agg(f.value ORDER BY f.step, f.logged_at),
               array_agg(f.logged_at ORDER BY f.step, f.logged_at),
               CASE WHEN bool_or(f.epoch IS NOT NULL) THEN array_agg(f.epoch ORDER BY f.step, f.logged_at) END
        FROM (SELECT fr.*, (row_number() OVER (PARTITION BY fr.key_id, fr.kind ORDER BY fr.step, fr.logged_at) - 1) / 1024 AS part
              FROM fresh fr) f
        GROUP BY f.key_id, f.kind, f.part
    )
    SELECT f.key_id, f.value, f.step, f.epoch, f.logged_at, f.kind FROM fresh f;
END
$$;

-- One point (the seed's log_ml_metric). Returns false when the exact point was already stored.
-- Appends to the key's open chunk (opened here when there is none, or when its kind differs),
-- merges the summary, and seals the chunk into the rollups once it holds 256 points.
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
    IF v_count >= 256 THEN
        PERFORM ml_seal_open_chunk(p_run_id, v_key);
    END IF;
    RETURN true;
END
$$;

-- ---- deletion: a deleted run's points go in the background ----

CREATE TABLE ml_metric_purge (
    run_id     bigint      PRIMARY KEY,
    queued_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ml_run_queue_metric_purge() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ml_metric_purge (run_id) VALUES (OLD.run_id) ON CONFLICT DO NOTHING;
    RETURN OLD;
END
$$;

CREATE TRIGGER ml_run_queue_metric_purge
    AFTER DELETE ON ml_run
    FOR EACH ROW EXECUTE FUNCTION ml_run_queue_metric_purge();

-- Removes at most p_limit chunk (or rollup) rows of one queued run; returns how many it removed,
-- 0 when nothing is queued. A run leaves the queue once nothing of it is left. SKIP LOCKED lets
-- several purgers (two app instances on one server) share the queue.
CREATE FUNCTION ml_purge_metrics(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_run bigint;
    v_removed integer;
BEGIN
    SELECT run_id INTO v_run FROM ml_metric_purge ORDER BY queued_at, run_id LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
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

-- ---- deploys lock per model ----
-- Deploys, rollbacks and canary moves of one model, on any target, queue up on one lock: a deploy
-- touches the version rows of other targets too (ml_refresh_version_deployment), so a lock per
-- (model, target) let crosswise deploys on two targets lock the same two versions in opposite
-- orders (40P01).
CREATE FUNCTION ml_lock_model_deployments(p_model_name text) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('ml_model_registry:' || p_model_name, 0));
$$;

ALTER FUNCTION deploy_ml_model(text, bigint, text, text, double precision, double precision, double precision, double precision, text, text)
    RENAME TO ml_deploy_model_on_target;

CREATE FUNCTION deploy_ml_model(
    p_model_name text,
    p_version_id bigint,
    p_target text DEFAULT 'production',
    p_strategy text DEFAULT 'blue-green',
    p_canary_traffic_percent double precision DEFAULT NULL,
    p_sla_latency_p99_ms double precision DEFAULT NULL,
    p_sla_throughput_rps double precision DEFAULT NULL,
    p_sla_availability_percent double precision DEFAULT NULL,
    p_actor text DEFAULT NULL,
    p_health_url text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_model_deployments(p_model_name);
    RETURN ml_deploy_model_on_target(p_model_name, p_version_id, p_target, p_strategy, p_canary_traffic_percent,
                                     p_sla_latency_p99_ms, p_sla_throughput_rps, p_sla_availability_percent, p_actor, p_health_url);
END
$$;

CREATE OR REPLACE FUNCTION ml_lock_deployment(p_model_name text, p_target text) RETURNS ml_model_registry
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry%ROWTYPE;
BEGIN
    PERFORM ml_lock_model_deployments(p_model_name);
    SELECT * INTO v_registry FROM ml_model_registry
    WHERE model_name = p_model_name AND deployment_target = p_target FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'target',
            MESSAGE = format('model %L is not deployed to %L', p_model_name, p_target);
    END IF;
    RETURN v_registry;
END
$$;
