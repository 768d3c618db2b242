-- MLflow 3 logs a metric against a logged model as well as its run (log_metric(..., model_id=…),
-- the way evaluation results reach a model): the model keeps its own record of each such point,
-- with the dataset it was measured on, and get/search of the model return them as its metrics.
CREATE TABLE ml_logged_model_metric (
    model_id        text             NOT NULL REFERENCES ml_logged_model (model_id) ON DELETE CASCADE,
    run_id          bigint           REFERENCES ml_run (run_id) ON DELETE SET NULL,
    metric_name     text             NOT NULL,
    value           double precision NOT NULL,
    step            bigint           NOT NULL,
    logged_at       timestamptz      NOT NULL,
    dataset_name    text,
    dataset_digest  text
);

CREATE INDEX ml_logged_model_metric_model ON ml_logged_model_metric (model_id, logged_at, step);
