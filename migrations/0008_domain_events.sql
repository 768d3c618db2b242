-- Domain events travel through PostgreSQL: NOTIFY inside the writing transaction (so an event is
-- delivered only when its write commits, and never for a rolled-back one), LISTEN in every
-- process that shows or relays them. Whichever process wrote — the window's main process, the
-- API process, another Hypercube on the same server — every listener hears it.
--
-- Payloads are small JSON objects naming what changed (ids, counts); listeners read the rest.
-- NOTIFY's payload limit is 8000 bytes: nothing here comes near it except metric keys, which
-- are dropped (keys = null, "refresh them all") past a bound.

CREATE FUNCTION ml_notify(p_name text, p_payload jsonb) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('hypercube_events', (jsonb_build_object('name', p_name) || p_payload)::text);
$$;

-- Row triggers rather than calls in each function: whatever path writes these tables (a SQL
-- function, a repository statement, a cascade), the change is announced. One trigger function
-- serves them all: its arguments are the event name, then (payload field, column) pairs.
CREATE FUNCTION ml_notify_row_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    v_payload jsonb := '{}';
BEGIN
    FOR i IN 1 .. TG_NARGS - 1 BY 2 LOOP
        v_payload := v_payload || jsonb_build_object(TG_ARGV[i], v_row -> TG_ARGV[i + 1]);
    END LOOP;
    PERFORM ml_notify(TG_ARGV[0], v_payload);
    RETURN NULL;
END
$$;

CREATE TRIGGER ml_experiment_notify
    AFTER INSERT OR UPDATE OR DELETE ON ml_experiment
    FOR EACH ROW EXECUTE FUNCTION ml_notify_row_changed('experiments.changed', 'experimentId', 'experiment_id');

CREATE TRIGGER ml_run_notify
    AFTER INSERT OR UPDATE OR DELETE ON ml_run
    FOR EACH ROW EXECUTE FUNCTION ml_notify_row_changed('runs.changed', 'runId', 'run_id', 'experimentId', 'experiment_id', 'status', 'status');

CREATE TRIGGER ml_model_version_notify
    AFTER INSERT OR UPDATE OR DELETE ON ml_model_version
    FOR EACH ROW EXECUTE FUNCTION ml_notify_row_changed('models.versionChanged', 'versionId', 'version_id', 'modelName', 'model_name');

-- A deploy, promote, abort, rollback or health check all change the registry row.
CREATE TRIGGER ml_model_registry_notify
    AFTER INSERT OR UPDATE OR DELETE ON ml_model_registry
    FOR EACH ROW EXECUTE FUNCTION ml_notify_row_changed('deployments.changed', 'modelName', 'model_name', 'target', 'deployment_target');

-- Every metric write path (log_ml_metric, the COPY fast path, the staged path) merges the
-- run's summary exactly once per transaction with the keys and counts it stored, so the
-- summary merge is where "points were stored" is announced: once per batch, not per point.
CREATE OR REPLACE FUNCTION ml_merge_metric_summary(
    p_run_id bigint,
    p_keys text[],
    p_last_values double precision[],
    p_last_steps bigint[],
    p_last_logged_at timestamptz[],
    p_mins double precision[],
    p_maxs double precision[],
    p_counts bigint[]
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ml_metric_summary AS s
        (run_id, metric_name, last_value, last_step, last_logged_at, min_value, max_value, value_count)
    SELECT p_run_id, u.* FROM unnest(p_keys, p_last_values, p_last_steps, p_last_logged_at, p_mins, p_maxs, p_counts) AS u
    ON CONFLICT (run_id, metric_name) DO UPDATE SET
        last_value = CASE WHEN (EXCLUDED.last_step, EXCLUDED.last_logged_at) >= (s.last_step, s.last_logged_at)
                          THEN EXCLUDED.last_value ELSE s.last_value END,
        last_logged_at = CASE WHEN (EXCLUDED.last_step, EXCLUDED.last_logged_at) >= (s.last_step, s.last_logged_at)
                              THEN EXCLUDED.last_logged_at ELSE s.last_logged_at END,
        last_step = GREATEST(s.last_step, EXCLUDED.last_step),
        min_value = LEAST(s.min_value, EXCLUDED.min_value),
        max_value = GREATEST(s.max_value, EXCLUDED.max_value),
        value_count = s.value_count + EXCLUDED.value_count;
    SELECT ml_notify('metrics.logged', jsonb_build_object(
        'runId', p_run_id,
        'points', (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) AS c),
        -- Key names are up to 250 characters: a batch of very many keys is announced without them.
        'keys', CASE WHEN octet_length(array_to_json(p_keys)::text) <= 6000 THEN to_jsonb(p_keys) ELSE 'null'::jsonb END));
$$;
