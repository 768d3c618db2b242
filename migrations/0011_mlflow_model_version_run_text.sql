-- MLflow keeps a model version's run_id as the client sent it and never checks that such a run
-- exists (mlflow's own registry tests register versions of "run_id_1"). Hypercube keeps that
-- text beside its lineage: source_run_id still links a Hypercube run, and only a run that exists.
-- NULL: the version came from /v1 (or before this column), and its run id is its source run's.
--
-- storage_location is MLflow's name for where a version's files are when its source only points
-- at them: a logged model (models:/m-…) or another version (models:/<name>/<version>), resolved
-- when the version is registered. NULL: the source itself.
ALTER TABLE ml_model_version
    ADD COLUMN mlflow_run_id text,
    ADD COLUMN storage_location text;
