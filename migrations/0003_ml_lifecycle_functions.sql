-- The seed's seven functions, with the lifecycle rules they imply, plus the transitions the
-- seed's API needs (params, status, review, rollback).
--
-- Errors carry a SQLSTATE of class HC and the offending field in COLUMN, so the repository can
-- turn them into errors that name the field:
--   HC400 invalid argument   HC404 not found   HC409 conflicts with the current state

CREATE FUNCTION create_ml_experiment(
    p_name text,
    p_description text DEFAULT '',
    p_model_config jsonb DEFAULT '{}',
    p_training_config jsonb DEFAULT '{}',
    p_hyperparameters jsonb DEFAULT '{}',
    p_tags jsonb DEFAULT '{}',
    p_created_by text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO ml_experiment (name, description, model_config, training_config, hyperparameters, tags, created_by)
    VALUES (p_name, coalesce(p_description, ''), coalesce(p_model_config, '{}'), coalesce(p_training_config, '{}'),
            coalesce(p_hyperparameters, '{}'), coalesce(p_tags, '{}'), p_created_by)
    ON CONFLICT ON CONSTRAINT ml_experiment_name_unique DO NOTHING
    RETURNING experiment_id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'name',
            MESSAGE = format('an experiment named %L already exists', p_name);
    END IF;
    RETURN v_id;
END
$$;

CREATE FUNCTION start_ml_run(
    p_experiment_id bigint,
    p_run_name text,
    p_hyperparameters jsonb DEFAULT '{}',
    p_random_seed bigint DEFAULT NULL,
    p_git_commit text DEFAULT NULL,
    p_tags jsonb DEFAULT '{}',
    p_status text DEFAULT 'running'
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_experiment_status text;
    v_id bigint;
BEGIN
    IF p_status NOT IN ('pending', 'running') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'status',
            MESSAGE = format('a run starts as pending or running, not %L', p_status);
    END IF;
    SELECT status INTO v_experiment_status FROM ml_experiment WHERE experiment_id = p_experiment_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'experiment_id',
            MESSAGE = format('experiment %s does not exist', p_experiment_id);
    END IF;
    IF v_experiment_status <> 'active' THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'experiment_id',
            MESSAGE = format('experiment %s is %s; only active experiments take new runs', p_experiment_id, v_experiment_status);
    END IF;
    INSERT INTO ml_run (experiment_id, run_name, status, hyperparameters, random_seed, git_commit, tags, started_at)
    VALUES (p_experiment_id, p_run_name, p_status, coalesce(p_hyperparameters, '{}'), p_random_seed, p_git_commit,
            coalesce(p_tags, '{}'), CASE WHEN p_status = 'running' THEN now() END)
    RETURNING run_id INTO v_id;
    -- No UPDATE of the experiment here: concurrent starts hold FOR SHARE on its row and would
    -- deadlock upgrading it. An experiment's last activity is derived from its runs instead.
    RETURN v_id;
END
$$;

-- Locks a run for the rest of the transaction and returns its status; raises HC404 if absent.
CREATE FUNCTION ml_lock_run(p_run_id bigint, p_exclusive boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    IF p_exclusive THEN
        SELECT status INTO v_status FROM ml_run WHERE run_id = p_run_id FOR UPDATE;
    ELSE
        SELECT status INTO v_status FROM ml_run WHERE run_id = p_run_id FOR SHARE;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'run_id',
            MESSAGE = format('run %s does not exist', p_run_id);
    END IF;
    RETURN v_status;
END
$$;

-- Hyperparameters are write-once: the same value again is fine, a different one is an error.
CREATE FUNCTION set_ml_run_params(p_run_id bigint, p_params jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_existing jsonb;
    v_key text;
BEGIN
    PERFORM ml_lock_run(p_run_id, true);
    SELECT hyperparameters INTO v_existing FROM ml_run WHERE run_id = p_run_id;
    SELECT e.key INTO v_key
    FROM jsonb_each(p_params) e
    WHERE v_existing ? e.key AND v_existing -> e.key <> e.value
    ORDER BY e.key LIMIT 1;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'hyperparameters.' || v_key,
            MESSAGE = format('hyperparameter %L of run %s is already %s and cannot change to %s',
                             v_key, p_run_id, v_existing -> v_key, p_params -> v_key);
    END IF;
    UPDATE ml_run SET hyperparameters = hyperparameters || p_params, updated_at = now() WHERE run_id = p_run_id;
END
$$;

-- pending → running.
CREATE FUNCTION mark_ml_run_running(p_run_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text := ml_lock_run(p_run_id, true);
BEGIN
    IF v_status = 'running' THEN
        RETURN; -- already running: starting again is harmless
    END IF;
    IF v_status <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'status',
            MESSAGE = format('run %s is %s; only a pending run can start', p_run_id, v_status);
    END IF;
    UPDATE ml_run SET status = 'running', started_at = now(), updated_at = now() WHERE run_id = p_run_id;
END
$$;

-- running (or pending) → completed | failed | killed, once.
CREATE FUNCTION complete_ml_run(
    p_run_id bigint,
    p_final_metrics jsonb DEFAULT '{}',
    p_status text DEFAULT 'completed',
    p_error_message text DEFAULT NULL,
    p_stack_trace text DEFAULT NULL,
    p_gpu_hours double precision DEFAULT NULL,
    p_cpu_hours double precision DEFAULT NULL,
    p_peak_memory_bytes bigint DEFAULT NULL,
    p_logs text DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    IF p_status NOT IN ('completed', 'failed', 'killed') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'status',
            MESSAGE = format('a run finishes as completed, failed or killed, not %L', p_status);
    END IF;
    v_status := ml_lock_run(p_run_id, true);
    IF v_status IN ('completed', 'failed', 'killed') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'status',
            MESSAGE = format('run %s is already %s; a finished run cannot be finished again', p_run_id, v_status);
    END IF;
    UPDATE ml_run SET
        status = p_status,
        final_metrics = final_metrics || coalesce(p_final_metrics, '{}'),
        error_message = coalesce(p_error_message, error_message),
        stack_trace = coalesce(p_stack_trace, stack_trace),
        gpu_hours = coalesce(p_gpu_hours, gpu_hours),
        cpu_hours = coalesce(p_cpu_hours, cpu_hours),
        peak_memory_bytes = coalesce(p_peak_memory_bytes, peak_memory_bytes),
        logs = coalesce(p_logs, logs),
        started_at = coalesce(started_at, now()),
        completed_at = now(),
        updated_at = now()
    WHERE run_id = p_run_id;
END
$$;

-- Serialises metric writers of one run for the rest of the transaction, so the duplicate check
-- against stored points and the summary merge see a stable picture. Different runs never wait.
CREATE FUNCTION ml_lock_run_metrics(p_run_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ml_lock_run(p_run_id, false);
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_metric_log:' || p_run_id, 0));
END
$$;

-- Whether two stored doubles are the same value for "exact duplicate": float8 equality, except
-- that -0.0 and 0.0 differ (they are different values to the user; = calls them equal). NaN
-- equals NaN, as in PostgreSQL's ordering.
CREATE FUNCTION ml_same_metric_value(a double precision, b double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ -- not STRICT, so the planner inlines it
    SELECT a = b AND (a <> 0 OR float8send(a) = float8send(b))
$$;

-- Moves staged points (the session's temp table ml_metric_staging) into ml_metric_log, skipping
-- exact duplicates of stored points and of each other; returns the points it stored, from which
-- the writer merges the summary and the rollups (plpgsql, not sql: the staging table is per
-- session and does not exist when this function is created).
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

-- One point (the seed's log_ml_metric). Returns false when the exact point was already stored.
-- Keeps the summary and the rollups (0004) too: one point is one bucket at every level.
CREATE FUNCTION log_ml_metric(
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

CREATE FUNCTION register_ml_model_version(
    p_model_name text,
    p_version text,
    p_artifact_uri text,
    p_source_run_id bigint DEFAULT NULL,
    p_parent_version_id bigint DEFAULT NULL,
    p_performance_metrics jsonb DEFAULT '{}',
    p_artifact_blake3 text DEFAULT NULL,
    p_artifact_size_bytes bigint DEFAULT NULL,
    p_description text DEFAULT '',
    p_tags jsonb DEFAULT '{}',
    p_created_by text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_parent_model text;
    v_version text := p_version;
    v_id bigint;
BEGIN
    -- Serialises registrations per model, so "next version number" cannot race.
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_model_version:' || p_model_name, 0));
    IF p_source_run_id IS NOT NULL THEN
        -- Locks the run against deletion; named source_run_id (not run_id) in the error.
        PERFORM 1 FROM ml_run WHERE run_id = p_source_run_id FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'source_run_id',
                MESSAGE = format('source run %s does not exist', p_source_run_id);
        END IF;
    END IF;
    IF p_parent_version_id IS NOT NULL THEN
        SELECT model_name INTO v_parent_model FROM ml_model_version WHERE version_id = p_parent_version_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'parent_version_id',
                MESSAGE = format('parent version %s does not exist', p_parent_version_id);
        END IF;
        IF v_parent_model <> p_model_name THEN
            RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'parent_version_id',
                MESSAGE = format('parent version %s belongs to model %L, not %L', p_parent_version_id, v_parent_model, p_model_name);
        END IF;
    END IF;
    IF v_version IS NULL THEN
        SELECT (coalesce(max(version::bigint), 0) + 1)::text INTO v_version
        FROM ml_model_version WHERE model_name = p_model_name AND version ~ '^[0-9]{1,18}$';
    END IF;
    INSERT INTO ml_model_version (model_name, version, artifact_uri, source_run_id, parent_version_id,
                                  performance_metrics, artifact_blake3, artifact_size_bytes, description, tags, created_by)
    VALUES (p_model_name, v_version, p_artifact_uri, p_source_run_id, p_parent_version_id,
            coalesce(p_performance_metrics, '{}'), p_artifact_blake3, p_artifact_size_bytes,
            coalesce(p_description, ''), coalesce(p_tags, '{}'), p_created_by)
    ON CONFLICT ON CONSTRAINT ml_model_version_unique DO NOTHING
    RETURNING version_id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'version',
            MESSAGE = format('model %L already has a version %L', p_model_name, v_version);
    END IF;
    RETURN v_id;
END
$$;

-- Approval workflow: pending → approved | rejected; approved → deprecated.
CREATE FUNCTION review_ml_model_version(
    p_version_id bigint,
    p_decision text,
    p_notes text DEFAULT NULL,
    p_actor text DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_label text;
BEGIN
    SELECT approval_status, model_name || ' version ' || version INTO v_status, v_label
    FROM ml_model_version WHERE version_id = p_version_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'version_id',
            MESSAGE = format('model version %s does not exist', p_version_id);
    END IF;
    IF p_decision IN ('approved', 'rejected') THEN
        IF v_status <> 'pending' THEN
            RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'approval_status',
                MESSAGE = format('%s is %s; only a pending version can be %s', v_label, v_status, p_decision);
        END IF;
        UPDATE ml_model_version
        SET approval_status = p_decision, approval_notes = p_notes, reviewed_by = p_actor, reviewed_at = now(), updated_at = now()
        WHERE version_id = p_version_id;
    ELSIF p_decision = 'deprecated' THEN
        IF v_status <> 'approved' THEN
            RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'approval_status',
                MESSAGE = format('%s is %s; only an approved version can be deprecated', v_label, v_status);
        END IF;
        UPDATE ml_model_version
        SET approval_status = 'deprecated', deprecation_notes = p_notes, deprecated_by = p_actor, deprecated_at = now(), updated_at = now()
        WHERE version_id = p_version_id;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'decision',
            MESSAGE = format('a review decision is approved, rejected or deprecated, not %L', p_decision);
    END IF;
END
$$;

-- Keeps ml_model_version.is_deployed / deployment_target in step with the registry.
CREATE FUNCTION ml_refresh_version_deployment(p_version_id bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE ml_model_version v SET
        deployment_target = t.target,
        is_deployed = t.target IS NOT NULL,
        updated_at = now()
    FROM (SELECT min(deployment_target) AS target FROM ml_model_registry WHERE current_version_id = p_version_id) t
    WHERE v.version_id = p_version_id;
$$;

-- Makes an approved version current on a target; what was current becomes previous.
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
DECLARE
    v_model text;
    v_status text;
    v_version text;
    v_registry ml_model_registry%ROWTYPE;
    v_action text;
    v_from bigint; -- the version this deploy replaces, if any
BEGIN
    -- Deploys and rollbacks of one (model, target) take this lock first, so they queue up
    -- instead of locking version and registry rows in different orders (a deadlock).
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_model_registry:' || p_model_name || ':' || p_target, 0));
    IF p_strategy NOT IN ('blue-green', 'canary', 'rolling', 'shadow') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'strategy',
            MESSAGE = format('strategy is blue-green, canary, rolling or shadow, not %L', p_strategy);
    END IF;
    IF (p_strategy = 'canary') <> (p_canary_traffic_percent IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'canary_traffic_percent',
            MESSAGE = 'a canary deployment needs a traffic share (0 < share <= 100), and only a canary has one';
    END IF;
    SELECT model_name, approval_status, version INTO v_model, v_status, v_version
    FROM ml_model_version WHERE version_id = p_version_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'version_id',
            MESSAGE = format('model version %s does not exist', p_version_id);
    END IF;
    IF v_model <> p_model_name THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'version_id',
            MESSAGE = format('version %s belongs to model %L, not %L', p_version_id, v_model, p_model_name);
    END IF;
    IF v_status <> 'approved' THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'version_id',
            MESSAGE = format('%s version %s is %s; only approved versions deploy', v_model, v_version, v_status);
    END IF;

    SELECT * INTO v_registry FROM ml_model_registry
    WHERE model_name = p_model_name AND deployment_target = p_target FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ml_model_registry (model_name, deployment_target, current_version_id, deployment_strategy,
                                       canary_traffic_percent, sla_latency_p99_ms, sla_throughput_rps,
                                       sla_availability_percent, health_url, deployed_by)
        VALUES (p_model_name, p_target, p_version_id, p_strategy, p_canary_traffic_percent, p_sla_latency_p99_ms,
                p_sla_throughput_rps, p_sla_availability_percent, p_health_url, p_actor)
        RETURNING * INTO v_registry;
        v_action := 'deploy';
    ELSIF v_registry.current_version_id = p_version_id THEN
        -- Already live there: deploying again only updates how it is rolled out.
        UPDATE ml_model_registry SET
            deployment_strategy = p_strategy,
            canary_traffic_percent = p_canary_traffic_percent,
            sla_latency_p99_ms = coalesce(p_sla_latency_p99_ms, sla_latency_p99_ms),
            sla_throughput_rps = coalesce(p_sla_throughput_rps, sla_throughput_rps),
            sla_availability_percent = coalesce(p_sla_availability_percent, sla_availability_percent),
            health_url = coalesce(p_health_url, health_url),
            updated_at = now()
        WHERE registry_id = v_registry.registry_id;
        v_action := 'update';
    ELSE
        UPDATE ml_model_registry SET
            previous_version_id = current_version_id,
            current_version_id = p_version_id,
            deployment_strategy = p_strategy,
            canary_traffic_percent = p_canary_traffic_percent,
            sla_latency_p99_ms = coalesce(p_sla_latency_p99_ms, sla_latency_p99_ms),
            sla_throughput_rps = coalesce(p_sla_throughput_rps, sla_throughput_rps),
            sla_availability_percent = coalesce(p_sla_availability_percent, sla_availability_percent),
            health_url = coalesce(p_health_url, health_url),
            health_status = 'unknown',
            health_checked_at = NULL,
            deployed_by = p_actor,
            deployed_at = now(),
            updated_at = now()
        WHERE registry_id = v_registry.registry_id;
        v_action := 'deploy';
        v_from := v_registry.current_version_id;
        PERFORM ml_refresh_version_deployment(v_registry.current_version_id);
    END IF;
    PERFORM ml_refresh_version_deployment(p_version_id);

    INSERT INTO ml_deployment_event (model_name, deployment_target, action, from_version_id, to_version_id,
                                     deployment_strategy, canary_traffic_percent, actor)
    VALUES (p_model_name, p_target, v_action, v_from, p_version_id, p_strategy, p_canary_traffic_percent, p_actor);
    RETURN v_registry.registry_id;
END
$$;

-- Locks the registry row of a (model, target) for the rest of the transaction and returns it.
-- Deploys, rollbacks and canary moves take the advisory lock first, so they queue up instead
-- of locking version and registry rows in different orders (a deadlock).
CREATE FUNCTION ml_lock_deployment(p_model_name text, p_target text) RETURNS ml_model_registry
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('ml_model_registry:' || p_model_name || ':' || p_target, 0));
    SELECT * INTO v_registry FROM ml_model_registry
    WHERE model_name = p_model_name AND deployment_target = p_target FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'target',
            MESSAGE = format('model %L is not deployed to %L', p_model_name, p_target);
    END IF;
    RETURN v_registry;
END
$$;

-- Makes a locked deployment's previous version current again (a rollback, or an aborted
-- canary), records why, and returns the version now current.
CREATE FUNCTION ml_return_to_previous_version(
    p_registry ml_model_registry,
    p_action text,
    p_strategy text,
    p_canary_traffic_percent double precision,
    p_actor text,
    p_notes text
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_version text;
BEGIN
    IF p_registry.previous_version_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'previous_version_id',
            MESSAGE = format('model %L on %L has no previous version to return to', p_registry.model_name, p_registry.deployment_target);
    END IF;
    -- Only approved versions deploy, this way too (the previous one may have been deprecated since).
    SELECT approval_status, version INTO v_status, v_version
    FROM ml_model_version WHERE version_id = p_registry.previous_version_id FOR UPDATE;
    IF v_status <> 'approved' THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'previous_version_id',
            MESSAGE = format('%s version %s is %s; only approved versions deploy, so it cannot be returned to',
                             p_registry.model_name, v_version, v_status);
    END IF;
    UPDATE ml_model_registry SET
        current_version_id = p_registry.previous_version_id,
        previous_version_id = p_registry.current_version_id,
        deployment_strategy = p_strategy,
        canary_traffic_percent = p_canary_traffic_percent,
        health_status = 'unknown',
        health_checked_at = NULL,
        deployed_by = p_actor,
        deployed_at = now(),
        updated_at = now()
    WHERE registry_id = p_registry.registry_id;
    PERFORM ml_refresh_version_deployment(p_registry.current_version_id);
    PERFORM ml_refresh_version_deployment(p_registry.previous_version_id);
    INSERT INTO ml_deployment_event (model_name, deployment_target, action, from_version_id, to_version_id,
                                     deployment_strategy, canary_traffic_percent, actor, notes)
    VALUES (p_registry.model_name, p_registry.deployment_target, p_action, p_registry.current_version_id,
            p_registry.previous_version_id, p_strategy, p_canary_traffic_percent, p_actor, p_notes);
    RETURN p_registry.previous_version_id;
END
$$;

-- Swaps current and previous on a target. Returns the version that is now current.
CREATE FUNCTION rollback_ml_model(
    p_model_name text,
    p_target text DEFAULT 'production',
    p_actor text DEFAULT NULL,
    p_notes text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry := ml_lock_deployment(p_model_name, p_target);
BEGIN
    RETURN ml_return_to_previous_version(v_registry, 'rollback', v_registry.deployment_strategy,
                                         v_registry.canary_traffic_percent, p_actor, p_notes);
END
$$;

-- Runs of an experiment ranked by one metric: the run's final value if it reported one at
-- completion, otherwise its latest logged value. NaN never ranks.
CREATE FUNCTION get_experiment_leaderboard(
    p_experiment_id bigint,
    p_metric_name text,
    p_ascending boolean DEFAULT false,
    p_limit integer DEFAULT 10
) RETURNS TABLE (
    rank bigint,
    run_id bigint,
    run_name text,
    status text,
    metric_value double precision,
    metric_step bigint,
    hyperparameters jsonb
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'limit',
            MESSAGE = format('limit must be between 1 and 10000, not %s', p_limit);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ml_experiment e WHERE e.experiment_id = p_experiment_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'experiment_id',
            MESSAGE = format('experiment %s does not exist', p_experiment_id);
    END IF;
    RETURN QUERY
    WITH candidates AS (
        SELECT r.run_id, r.run_name, r.status, r.hyperparameters,
               CASE WHEN jsonb_typeof(r.final_metrics -> p_metric_name) = 'number'
                    THEN (r.final_metrics ->> p_metric_name)::double precision
                    ELSE s.last_value END AS v,
               CASE WHEN jsonb_typeof(r.final_metrics -> p_metric_name) = 'number'
                    THEN NULL ELSE s.last_step END AS st
        FROM ml_run r
        LEFT JOIN ml_metric_summary s ON s.run_id = r.run_id AND s.metric_name = p_metric_name
        WHERE r.experiment_id = p_experiment_id
    )
    SELECT rank() OVER (ORDER BY CASE WHEN p_ascending THEN c.v END ASC, CASE WHEN NOT p_ascending THEN c.v END DESC),
           c.run_id, c.run_name, c.status, c.v, c.st, c.hyperparameters
    FROM candidates c
    WHERE c.v IS NOT NULL AND c.v <> 'NaN'::double precision
    ORDER BY 1, c.run_id
    LIMIT p_limit;
END
$$;
