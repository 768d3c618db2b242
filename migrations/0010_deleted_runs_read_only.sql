-- A deleted run (soft delete, MLflow's lifecycle_stage 'deleted') takes no writes until it is
-- restored: not its params, tags, name or status, nor metrics, checkpoints, inputs or
-- outputs. (Artifact files are MLflow's separate artifact store, which does not check either.) The rule lives here, once, so every door obeys it (the MLflow adapter only words the
-- refusal as MLflow does, and it already is MLflow's wording).

-- Every write that touches a run's other tables locks the run through ml_lock_run first.
CREATE OR REPLACE FUNCTION ml_lock_run(p_run_id bigint, p_exclusive boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_uuid text;
    v_deleted boolean;
BEGIN
    IF p_exclusive THEN
        SELECT status, run_uuid, deleted_at IS NOT NULL INTO v_status, v_uuid, v_deleted FROM ml_run WHERE run_id = p_run_id FOR UPDATE;
    ELSE
        SELECT status, run_uuid, deleted_at IS NOT NULL INTO v_status, v_uuid, v_deleted FROM ml_run WHERE run_id = p_run_id FOR SHARE;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'HC404', COLUMN = 'run_id',
            MESSAGE = format('run %s does not exist', p_run_id);
    END IF;
    IF v_deleted THEN
        PERFORM ml_refuse_deleted_run(v_uuid);
    END IF;
    RETURN v_status;
END
$$;

CREATE FUNCTION ml_refuse_deleted_run(p_run_uuid text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'run_id',
        MESSAGE = format('The run %s must be in the ''active'' state. Current state is deleted.', p_run_uuid);
END
$$;

-- Writes to the run row itself (tags, name, params, status) by any statement: only deleting
-- and restoring change a deleted run.
CREATE FUNCTION ml_run_refuse_deleted_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NOT NULL THEN
        PERFORM ml_refuse_deleted_run(OLD.run_uuid);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ml_run_refuse_deleted_update
    BEFORE UPDATE ON ml_run
    FOR EACH ROW EXECUTE FUNCTION ml_run_refuse_deleted_update();
