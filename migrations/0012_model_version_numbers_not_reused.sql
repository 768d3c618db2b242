-- A model's version numbers are never reused: deleting its newest version leaves that number
-- taken, so "version 3" names one version for the model's whole life (MLflow's rule too —
-- test_delete_model_version_flow: delete 3, the next version is 4). The highest number a model
-- has had is kept on its registered model row, which lives as long as the model (a rename
-- carries it; deleting the model starts again at 1, as MLflow does).
ALTER TABLE ml_registered_model ADD COLUMN max_version bigint NOT NULL DEFAULT 0;

UPDATE ml_registered_model m SET max_version = coalesce(
    (SELECT max(version::bigint) FROM ml_model_version v WHERE v.model_name = m.model_name AND v.version ~ '^[0-9]{1,18}$'), 0);

-- As in 0003, except for the next number (past max_version) and keeping max_version up to date.
CREATE OR REPLACE FUNCTION register_ml_model_version(
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
        SELECT (greatest(
                    coalesce((SELECT max(version::bigint) FROM ml_model_version
                              WHERE model_name = p_model_name AND version ~ '^[0-9]{1,18}$'), 0),
                    coalesce((SELECT max_version FROM ml_registered_model WHERE model_name = p_model_name), 0)
                ) + 1)::text
        INTO v_version;
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
    -- The row exists by now: ml_model_version_ensure_registered_model (0006) made it if needed.
    IF v_version ~ '^[0-9]{1,18}$' THEN
        UPDATE ml_registered_model SET max_version = greatest(max_version, v_version::bigint) WHERE model_name = p_model_name;
    END IF;
    RETURN v_id;
END
$$;
