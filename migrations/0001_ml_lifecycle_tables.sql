-- The seed's seven ML lifecycle tables (Hartonomous-Opus 005_ml_lifecycle.sql), made real.
-- Rules that must hold whatever client writes are CHECK constraints here; rules about
-- transitions live in the functions of 0002 so that every path goes through them.

CREATE TABLE ml_experiment (
    experiment_id    bigserial PRIMARY KEY,
    name             text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    model_config     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    training_config  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    hyperparameters  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tags             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status           text        NOT NULL DEFAULT 'active',
    -- Link to a hypercube composition (its BLAKE3 id) for semantic integration; optional.
    composition_id   text,
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_experiment_name_unique UNIQUE (name),
    CONSTRAINT ml_experiment_name_length CHECK (char_length(name) BETWEEN 1 AND 256),
    CONSTRAINT ml_experiment_status_valid CHECK (status IN ('active', 'completed', 'archived', 'failed')),
    CONSTRAINT ml_experiment_configs_are_objects CHECK (
        jsonb_typeof(model_config) = 'object' AND jsonb_typeof(training_config) = 'object'
        AND jsonb_typeof(hyperparameters) = 'object' AND jsonb_typeof(tags) = 'object'),
    CONSTRAINT ml_experiment_composition_id_hex CHECK (composition_id IS NULL OR composition_id ~ '^[0-9a-f]{64}$')
);

CREATE TABLE ml_run (
    run_id              bigserial PRIMARY KEY,
    -- 32 lowercase hex digits: the id MLflow clients know a run by.
    run_uuid            text        NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
    experiment_id       bigint      NOT NULL REFERENCES ml_experiment (experiment_id) ON DELETE CASCADE,
    run_name            text        NOT NULL,
    status              text        NOT NULL DEFAULT 'pending',
    hyperparameters     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tags                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    final_metrics       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    random_seed         bigint,
    git_commit          text,
    gpu_hours           double precision,
    cpu_hours           double precision,
    peak_memory_bytes   bigint,
    logs                text,
    error_message       text,
    stack_trace         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_run_uuid_unique UNIQUE (run_uuid),
    CONSTRAINT ml_run_uuid_hex CHECK (run_uuid ~ '^[0-9a-f]{32}$'),
    CONSTRAINT ml_run_name_length CHECK (char_length(run_name) BETWEEN 1 AND 256),
    CONSTRAINT ml_run_status_valid CHECK (status IN ('pending', 'running', 'completed', 'failed', 'killed')),
    CONSTRAINT ml_run_json_are_objects CHECK (
        jsonb_typeof(hyperparameters) = 'object' AND jsonb_typeof(tags) = 'object'
        AND jsonb_typeof(final_metrics) = 'object'),
    CONSTRAINT ml_run_git_commit_hex CHECK (git_commit IS NULL OR git_commit ~ '^[0-9a-f]{7,64}$'),
    CONSTRAINT ml_run_resources_non_negative CHECK (
        (gpu_hours IS NULL OR gpu_hours >= 0) AND (cpu_hours IS NULL OR cpu_hours >= 0)
        AND (peak_memory_bytes IS NULL OR peak_memory_bytes >= 0)),
    CONSTRAINT ml_run_finished_has_time CHECK (
        (status IN ('completed', 'failed', 'killed')) = (completed_at IS NOT NULL))
);
CREATE INDEX ml_run_experiment_idx ON ml_run (experiment_id, created_at DESC);
CREATE INDEX ml_run_status_idx ON ml_run (experiment_id, status);

CREATE TABLE ml_model_version (
    version_id           bigserial PRIMARY KEY,
    model_name           text        NOT NULL,
    version              text        NOT NULL,
    parent_version_id    bigint      REFERENCES ml_model_version (version_id) ON DELETE SET NULL,
    source_run_id        bigint      REFERENCES ml_run (run_id) ON DELETE SET NULL,
    artifact_uri         text        NOT NULL,
    artifact_size_bytes  bigint,
    artifact_blake3      text,
    performance_metrics  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    description          text        NOT NULL DEFAULT '',
    tags                 jsonb       NOT NULL DEFAULT '{}'::jsonb,
    approval_status      text        NOT NULL DEFAULT 'pending',
    approval_notes       text,
    reviewed_by          text,
    reviewed_at          timestamptz,
    deprecated_by        text,
    deprecated_at        timestamptz,
    deprecation_notes    text,
    is_deployed          boolean     NOT NULL DEFAULT false,
    deployment_target    text,
    created_by           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_model_version_unique UNIQUE (model_name, version),
    -- Lets aliases and the registry reference (version, model) pairs, so a row can never
    -- point a model at another model's version.
    CONSTRAINT ml_model_version_id_model_unique UNIQUE (version_id, model_name),
    CONSTRAINT ml_model_version_name_length CHECK (char_length(model_name) BETWEEN 1 AND 256),
    CONSTRAINT ml_model_version_version_length CHECK (char_length(version) BETWEEN 1 AND 64),
    CONSTRAINT ml_model_version_status_valid CHECK (approval_status IN ('pending', 'approved', 'rejected', 'deprecated')),
    CONSTRAINT ml_model_version_blake3_hex CHECK (artifact_blake3 IS NULL OR artifact_blake3 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ml_model_version_size_non_negative CHECK (artifact_size_bytes IS NULL OR artifact_size_bytes >= 0),
    CONSTRAINT ml_model_version_json_are_objects CHECK (
        jsonb_typeof(performance_metrics) = 'object' AND jsonb_typeof(tags) = 'object'),
    CONSTRAINT ml_model_version_not_own_parent CHECK (parent_version_id IS DISTINCT FROM version_id),
    CONSTRAINT ml_model_version_deployed_has_target CHECK (is_deployed = (deployment_target IS NOT NULL))
);
CREATE INDEX ml_model_version_model_idx ON ml_model_version (model_name, created_at DESC);
CREATE INDEX ml_model_version_run_idx ON ml_model_version (source_run_id);
CREATE INDEX ml_model_version_parent_idx ON ml_model_version (parent_version_id);

-- One row per (model, deployment target): what is live there now and what was before it.
CREATE TABLE ml_model_registry (
    registry_id                bigserial PRIMARY KEY,
    model_name                 text        NOT NULL,
    deployment_target          text        NOT NULL DEFAULT 'production',
    current_version_id         bigint      NOT NULL,
    previous_version_id        bigint,
    deployment_strategy        text        NOT NULL DEFAULT 'blue-green',
    canary_traffic_percent     double precision,
    sla_latency_p99_ms         double precision,
    sla_throughput_rps         double precision,
    sla_availability_percent   double precision,
    health_url                 text,
    health_status              text        NOT NULL DEFAULT 'unknown',
    health_checked_at          timestamptz,
    observed_latency_ms        double precision,
    observed_throughput_rps    double precision,
    observed_availability_percent double precision,
    deployed_by                text,
    deployed_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_model_registry_unique UNIQUE (model_name, deployment_target),
    CONSTRAINT ml_model_registry_current_fk FOREIGN KEY (current_version_id, model_name)
        REFERENCES ml_model_version (version_id, model_name),
    CONSTRAINT ml_model_registry_previous_fk FOREIGN KEY (previous_version_id, model_name)
        REFERENCES ml_model_version (version_id, model_name),
    CONSTRAINT ml_model_registry_target_length CHECK (char_length(deployment_target) BETWEEN 1 AND 64),
    CONSTRAINT ml_model_registry_strategy_valid CHECK (deployment_strategy IN ('blue-green', 'canary', 'rolling', 'shadow')),
    CONSTRAINT ml_model_registry_canary_share CHECK (
        (deployment_strategy = 'canary') = (canary_traffic_percent IS NOT NULL)
        AND (canary_traffic_percent IS NULL OR (canary_traffic_percent > 0 AND canary_traffic_percent <= 100))),
    CONSTRAINT ml_model_registry_sla_valid CHECK (
        (sla_latency_p99_ms IS NULL OR sla_latency_p99_ms > 0)
        AND (sla_throughput_rps IS NULL OR sla_throughput_rps > 0)
        AND (sla_availability_percent IS NULL OR sla_availability_percent BETWEEN 0 AND 100)),
    CONSTRAINT ml_model_registry_health_valid CHECK (health_status IN ('unknown', 'healthy', 'degraded', 'unhealthy')),
    CONSTRAINT ml_model_registry_previous_differs CHECK (previous_version_id IS DISTINCT FROM current_version_id)
);

-- Metric points. No foreign key to ml_run on purpose: a row-level RI check per point would
-- cost more than the COPY itself. Every writer locks the run row first (see 0002) and a
-- trigger on ml_run removes a deleted run's points, so the reference still holds.
CREATE TABLE ml_metric_log (
    run_id       bigint           NOT NULL,
    metric_name  text             NOT NULL,
    value        double precision NOT NULL,
    step         bigint           NOT NULL DEFAULT 0,
    epoch        integer,
    logged_at    timestamptz      NOT NULL DEFAULT now(),
    kind         text             NOT NULL DEFAULT 'train',
    CONSTRAINT ml_metric_log_kind_valid CHECK (kind IN ('train', 'validation', 'test', 'system')),
    CONSTRAINT ml_metric_log_name_length CHECK (char_length(metric_name) BETWEEN 1 AND 250),
    CONSTRAINT ml_metric_log_epoch_non_negative CHECK (epoch IS NULL OR epoch >= 0)
);
-- A BRIN index, not a B-tree: points arrive in step order per run, so block ranges line up
-- with (run, step) and a few kilobytes of BRIN narrow history reads to the right blocks, while a
-- B-tree would cost more per inserted point than the COPY itself (measured: ~3x slower ingest).
-- Exact duplicates are filtered by the writers (see ml_insert_metric_points in 0003).
-- autosummarize keeps freshly written ranges from staying unsummarized (and so always scanned).
CREATE INDEX ml_metric_log_run_step_brin ON ml_metric_log USING brin (run_id, step) WITH (pages_per_range = 16, autosummarize = on);

CREATE TABLE ml_artifact (
    artifact_id       bigserial PRIMARY KEY,
    run_id            bigint      REFERENCES ml_run (run_id) ON DELETE CASCADE,
    model_version_id  bigint      REFERENCES ml_model_version (version_id) ON DELETE CASCADE,
    artifact_kind     text        NOT NULL DEFAULT 'other',
    -- A path relative to the artifact root for files Hypercube stores, or a URI (s3://, gs://,
    -- file://, https://) for artifacts that live elsewhere.
    path              text        NOT NULL,
    uri               text,
    size_bytes        bigint,
    blake3            text,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    verified_at       timestamptz,
    CONSTRAINT ml_artifact_owner CHECK (run_id IS NOT NULL OR model_version_id IS NOT NULL),
    CONSTRAINT ml_artifact_kind_valid CHECK (artifact_kind IN ('model', 'checkpoint', 'plot', 'dataset', 'config', 'log', 'other')),
    CONSTRAINT ml_artifact_path_length CHECK (char_length(path) BETWEEN 1 AND 1024),
    CONSTRAINT ml_artifact_size_non_negative CHECK (size_bytes IS NULL OR size_bytes >= 0),
    CONSTRAINT ml_artifact_blake3_hex CHECK (blake3 IS NULL OR blake3 ~ '^[0-9a-f]{64}$')
);
CREATE UNIQUE INDEX ml_artifact_run_path_idx ON ml_artifact (run_id, path) WHERE run_id IS NOT NULL;
CREATE INDEX ml_artifact_version_idx ON ml_artifact (model_version_id) WHERE model_version_id IS NOT NULL;

CREATE TABLE ml_checkpoint (
    checkpoint_id     bigserial PRIMARY KEY,
    run_id            bigint      NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    path              text        NOT NULL,
    step              bigint      NOT NULL,
    epoch             integer,
    metrics_snapshot  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_best           boolean     NOT NULL DEFAULT false,
    size_bytes        bigint,
    blake3            text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_checkpoint_step_unique UNIQUE (run_id, step),
    CONSTRAINT ml_checkpoint_path_length CHECK (char_length(path) BETWEEN 1 AND 1024),
    CONSTRAINT ml_checkpoint_epoch_non_negative CHECK (epoch IS NULL OR epoch >= 0),
    CONSTRAINT ml_checkpoint_snapshot_object CHECK (jsonb_typeof(metrics_snapshot) = 'object'),
    CONSTRAINT ml_checkpoint_blake3_hex CHECK (blake3 IS NULL OR blake3 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ml_checkpoint_size_non_negative CHECK (size_bytes IS NULL OR size_bytes >= 0)
);
-- At most one best checkpoint per run.
CREATE UNIQUE INDEX ml_checkpoint_best_idx ON ml_checkpoint (run_id) WHERE is_best;
