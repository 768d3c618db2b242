-- A logged model keeps the source run id as the MLflow client sent it (issue 17,
-- test_create_logged_model): MLflow stores source_run_id as given and never checks that such a
-- run exists, as it does for a model version's run_id (0011). The Hypercube lineage
-- (source_run_id, a foreign key) is still set only when the run exists here.
ALTER TABLE ml_logged_model ADD COLUMN mlflow_source_run_id text;
