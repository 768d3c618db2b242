-- The run rules the MLflow door needs beside the seed's lifecycle, so that it writes through
-- SQL functions like every other door (before this, the door updated ml_run directly).
-- Errors follow migrations/0003: HC400 invalid argument, HC404 not found, HC409 state conflict.

-- Resuming a finished run: completed | failed | killed → running (the mlflow client's
-- start_run(run_id=…) on a run that ended). A pending run starts; a running one stays as it is.
-- The completion time goes (ml_run_finished_has_time), the final metrics and resources stay.
-- The /v1 API has no resume: there, a finished run stays finished.
CREATE FUNCTION resume_ml_run(p_run_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text := ml_lock_run(p_run_id, true);
BEGIN
    IF v_status = 'running' THEN
        RETURN;
    END IF;
    IF v_status = 'pending' THEN
        PERFORM mark_ml_run_running(p_run_id);
        RETURN;
    END IF;
    UPDATE ml_run SET status = 'running', completed_at = NULL, started_at = coalesce(started_at, now()), updated_at = now()
    WHERE run_id = p_run_id;
END
$$;

-- MLflow's update-run status, in terms of the lifecycle:
--   running                      resume_ml_run (pending starts, finished resumes)
--   completed | failed | killed  an unfinished run finishes (complete_ml_run); a finished one
--                                 takes the new end status and time (a client may end a run it
--                                 ended before: MLflow keeps the last end)
--   pending                      only a run that is still pending (nothing goes back to pending)
-- p_end_time (NULL: now) is when the run finished; it is ignored for running and pending.
CREATE FUNCTION set_ml_run_status_mlflow(p_run_id bigint, p_status text, p_end_time timestamptz DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    IF p_status NOT IN ('pending', 'running', 'completed', 'failed', 'killed') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'status',
            MESSAGE = format('unknown run status %L', p_status);
    END IF;
    v_status := ml_lock_run(p_run_id, true);
    IF p_status = 'running' THEN
        PERFORM resume_ml_run(p_run_id);
    ELSIF p_status = 'pending' THEN
        IF v_status <> 'pending' THEN
            RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'status',
                MESSAGE = format('run %s is %s; a run that started cannot go back to pending', p_run_id, v_status);
        END IF;
    ELSIF v_status IN ('pending', 'running') THEN
        PERFORM complete_ml_run(p_run_id, '{}', p_status);
        IF p_end_time IS NOT NULL THEN
            UPDATE ml_run SET completed_at = p_end_time WHERE run_id = p_run_id;
        END IF;
    ELSE
        UPDATE ml_run SET status = p_status, completed_at = coalesce(p_end_time, now()), updated_at = now()
        WHERE run_id = p_run_id;
    END IF;
END
$$;

-- Write-once params as MLflow compares them: as text. A value stored by the /v1 API as a JSON
-- number (0.1) equals MLflow's string '0.1'; such a stored value is kept as it is. The same value
-- again is fine, a different one is HC409 naming the key (the door words it as MLflow does).
CREATE FUNCTION log_ml_run_text_params(p_run_id bigint, p_params jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_existing jsonb;
    v_key text;
BEGIN
    IF jsonb_typeof(p_params) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_each(p_params) e WHERE jsonb_typeof(e.value) <> 'string') THEN
        RAISE EXCEPTION USING ERRCODE = 'HC400', COLUMN = 'params',
            MESSAGE = 'params must be an object of strings';
    END IF;
    PERFORM ml_lock_run(p_run_id, true);
    SELECT hyperparameters INTO v_existing FROM ml_run WHERE run_id = p_run_id;
    SELECT e.key INTO v_key
    FROM jsonb_each(p_params) e
    WHERE v_existing ? e.key AND ml_param_text(v_existing -> e.key) <> e.value #>> '{}'
    ORDER BY e.key LIMIT 1;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'hyperparameters.' || v_key,
            MESSAGE = format('hyperparameter %L of run %s is already %s and cannot change to %s',
                             v_key, p_run_id, ml_param_text(v_existing -> v_key), p_params ->> v_key);
    END IF;
    UPDATE ml_run
    SET hyperparameters = hyperparameters || (SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}')
                                              FROM jsonb_each(p_params) e WHERE NOT v_existing ? e.key),
        updated_at = now()
    WHERE run_id = p_run_id;
END
$$;

-- A stored hyperparameter as MLflow's string param: a string as itself, anything else as JSON.
CREATE FUNCTION ml_param_text(p_value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_value) = 'string' THEN p_value #>> '{}' ELSE p_value::text END
$$;
