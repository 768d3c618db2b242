-- Health checks keep what they measured over the deployed version's window and which SLA
-- targets that missed, so the deployments screen can chart p99 latency, throughput and
-- availability against the SLA and name the target a "degraded" check failed.
ALTER TABLE ml_deployment_health_check
    ADD COLUMN latency_p99_ms       double precision,
    ADD COLUMN availability_percent double precision,
    ADD COLUMN throughput_rps       double precision,
    ADD COLUMN breached_targets     text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT ml_deployment_health_check_targets_valid
        CHECK (breached_targets <@ ARRAY['latency_p99', 'throughput', 'availability']::text[]);

CREATE INDEX ml_deployment_health_check_version_idx ON ml_deployment_health_check (registry_id, version_id, checked_at DESC);

-- A rollback gives all traffic back to the previous version at once: it is recorded as a
-- blue-green switch (as an abort is), not as the canary share the rolled-back version had,
-- which left "canary 100%" on a target that runs no canary.
CREATE OR REPLACE FUNCTION rollback_ml_model(
    p_model_name text,
    p_target text DEFAULT 'production',
    p_actor text DEFAULT NULL,
    p_notes text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry := ml_lock_deployment(p_model_name, p_target);
    v_strategy text := CASE WHEN v_registry.deployment_strategy = 'canary' THEN 'blue-green' ELSE v_registry.deployment_strategy END;
BEGIN
    RETURN ml_return_to_previous_version(v_registry, 'rollback', v_strategy, NULL, p_actor, p_notes);
END
$$;
