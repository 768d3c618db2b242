-- MLflow compatibility (/api/2.0/mlflow): what MLflow's model of experiments, runs and the
-- registry needs that the lifecycle schema lacks. Everything here is additive: the /v1 API and
-- the UI keep working on the same rows, and an MLflow client sees Hypercube's data.
--
-- Mappings that need no new column:
--   experiment lifecycle_stage 'deleted'  = ml_experiment.status 'archived' (hidden, restorable,
--                                           takes no new runs — the same rule on both sides)
--   run params                            = ml_run.hyperparameters (write-once already)
--   run/experiment tags                   = the tags jsonb maps
--   model version source                  = ml_model_version.artifact_uri

-- An artifact location the client chose at creation; NULL means Hypercube's own store
-- (mlflow-artifacts:/<experiment_id>).
ALTER TABLE ml_experiment ADD COLUMN artifact_location text;

-- MLflow's user_id and soft delete of runs (NULL deleted_at: lifecycle_stage 'active').
ALTER TABLE ml_run
    ADD COLUMN user_id text,
    ADD COLUMN deleted_at timestamptz;

-- A registered model exists before and apart from its versions and carries a description and
-- tags. Every model name that has versions has a row here (the trigger below), so code that
-- only writes ml_model_version (the /v1 API) still yields models an MLflow client can see.
CREATE TABLE ml_registered_model (
    model_name   text        PRIMARY KEY,
    description  text        NOT NULL DEFAULT '',
    tags         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_by   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_registered_model_name_length CHECK (char_length(model_name) BETWEEN 1 AND 256),
    CONSTRAINT ml_registered_model_tags_object CHECK (jsonb_typeof(tags) = 'object')
);

INSERT INTO ml_registered_model (model_name, created_at, updated_at)
SELECT model_name, min(created_at), max(updated_at) FROM ml_model_version GROUP BY model_name;

CREATE FUNCTION ml_model_version_ensure_registered_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ml_registered_model (model_name, created_by) VALUES (NEW.model_name, NEW.created_by)
    ON CONFLICT (model_name) DO NOTHING;
    RETURN NEW;
END
$$;

CREATE TRIGGER ml_model_version_ensure_registered_model
    BEFORE INSERT ON ml_model_version
    FOR EACH ROW EXECUTE FUNCTION ml_model_version_ensure_registered_model();

-- MLflow's stage is separate from Hypercube's approval workflow: a stage is a label the
-- client moves freely; approval (and so deployment) is still decided by a reviewer.
ALTER TABLE ml_model_version
    ADD COLUMN stage text NOT NULL DEFAULT 'None',
    ADD COLUMN run_link text NOT NULL DEFAULT '',
    ADD COLUMN logged_model_id text,
    ADD CONSTRAINT ml_model_version_stage_valid CHECK (stage IN ('None', 'Staging', 'Production', 'Archived'));

-- MLflow 3 "logged models": a model logged by a run, with its own artifacts under
-- <dataDir>/artifacts/<experiment>/models/<model_id>/.
CREATE TABLE ml_logged_model (
    model_id       text        PRIMARY KEY,
    experiment_id  bigint      NOT NULL REFERENCES ml_experiment (experiment_id) ON DELETE CASCADE,
    name           text        NOT NULL,
    model_type     text        NOT NULL DEFAULT '',
    source_run_id  bigint      REFERENCES ml_run (run_id) ON DELETE SET NULL,
    status         text        NOT NULL DEFAULT 'LOGGED_MODEL_PENDING',
    params         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tags           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    user_id        text,
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ml_logged_model_id_format CHECK (model_id ~ '^m-[0-9a-f]{32}$'),
    CONSTRAINT ml_logged_model_name_length CHECK (char_length(name) BETWEEN 1 AND 256),
    CONSTRAINT ml_logged_model_status_valid CHECK (status IN ('LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED')),
    CONSTRAINT ml_logged_model_json_objects CHECK (jsonb_typeof(params) = 'object' AND jsonb_typeof(tags) = 'object')
);
CREATE INDEX ml_logged_model_experiment_idx ON ml_logged_model (experiment_id, created_at DESC);
CREATE INDEX ml_logged_model_run_idx ON ml_logged_model (source_run_id);

-- runs/outputs: models a run produced, at a step.
CREATE TABLE ml_run_model_output (
    run_id    bigint NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    model_id  text   NOT NULL REFERENCES ml_logged_model (model_id) ON DELETE CASCADE,
    step      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, model_id, step)
);

-- runs/log-inputs: datasets (and models) a run consumed. A dataset is identified by name and
-- digest; logging it again updates its description and input tags.
CREATE TABLE ml_run_dataset_input (
    run_id       bigint      NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    name         text        NOT NULL,
    digest       text        NOT NULL,
    source_type  text        NOT NULL,
    source       text        NOT NULL,
    schema       text,
    profile      text,
    input_tags   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, name, digest),
    CONSTRAINT ml_run_dataset_input_tags_object CHECK (jsonb_typeof(input_tags) = 'object')
);

CREATE TABLE ml_run_model_input (
    run_id    bigint NOT NULL REFERENCES ml_run (run_id) ON DELETE CASCADE,
    model_id  text   NOT NULL REFERENCES ml_logged_model (model_id) ON DELETE CASCADE,
    PRIMARY KEY (run_id, model_id)
);
