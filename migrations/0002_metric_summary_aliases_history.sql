-- What real use needs beside the seed's tables: a per-(run, key) summary kept current on
-- every insert path, model aliases, and the history of deployments and rollbacks.

-- Latest value and running statistics per run and metric key, kept current by every writer
-- in the same transaction as the points (ml_merge_metric_summary below). A statement trigger
-- over the inserted rows would do the same, but measured at 2.5 s per million points it cost
-- more than the COPY itself; the writers already hold the points and aggregate them for free.
CREATE TABLE ml_metric_summary (
    run_id          bigint           NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    metric_name     text             NOT NULL,
    last_value      double precision NOT NULL,
    last_step       bigint           NOT NULL,
    last_logged_at  timestamptz      NOT NULL,
    -- Over the values that are not NaN; NULL while every value so far is NaN.
    min_value       double precision,
    max_value       double precision,
    value_count     bigint           NOT NULL,
    PRIMARY KEY (run_id, metric_name)
);
CREATE INDEX ml_metric_summary_key_idx ON ml_metric_summary (metric_name, last_value);

-- Merges per-key aggregates of newly stored points into the summary. "Latest" is the point with
-- the highest step, then the latest time.
CREATE FUNCTION ml_merge_metric_summary(
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
$$;

-- ml_metric_log has no foreign key (see 0001); this keeps it from holding a deleted run's points.
CREATE FUNCTION ml_run_delete_metrics() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ml_metric_log WHERE run_id = OLD.run_id;
    RETURN OLD;
END
$$;

CREATE TRIGGER ml_run_delete_metrics
    AFTER DELETE ON ml_run
    FOR EACH ROW EXECUTE FUNCTION ml_run_delete_metrics();

-- A named pointer to a model version ("champion", "staging-candidate").
CREATE TABLE ml_model_alias (
    model_name   text        NOT NULL,
    alias        text        NOT NULL,
    version_id   bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_name, alias),
    FOREIGN KEY (version_id, model_name) REFERENCES ml_model_version (version_id, model_name) ON DELETE CASCADE,
    CONSTRAINT ml_model_alias_format CHECK (alias ~ '^[A-Za-z0-9_-]{1,255}$' AND alias !~ '^v[0-9]+$' AND lower(alias) <> 'latest')
);
CREATE INDEX ml_model_alias_version_idx ON ml_model_alias (version_id);

-- Every deploy, rollback, promotion and abort, in order.
CREATE TABLE ml_deployment_event (
    event_id                bigserial PRIMARY KEY,
    model_name              text        NOT NULL,
    deployment_target       text        NOT NULL,
    action                  text        NOT NULL,
    from_version_id         bigint      REFERENCES ml_model_version (version_id) ON DELETE SET NULL,
    to_version_id           bigint      REFERENCES ml_model_version (version_id) ON DELETE SET NULL,
    deployment_strategy     text,
    canary_traffic_percent  double precision,
    actor                   text,
    notes                   text,
    occurred_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_deployment_event_action_valid CHECK (action IN ('deploy', 'update', 'rollback', 'promote', 'abort'))
);
CREATE INDEX ml_deployment_event_target_idx ON ml_deployment_event (model_name, deployment_target, occurred_at DESC);
