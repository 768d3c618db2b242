-- Canary promotion and abort, and the record of health checks against each target's SLA.

-- A canary that proved itself takes all traffic; an aborted canary gives its target back to the
-- version it was tested against. Both are recorded in the deployment history.
-- Raises unless a canary with less than all traffic is in progress on the locked deployment.
CREATE FUNCTION ml_require_canary(p_registry ml_model_registry, p_verb text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_registry.deployment_strategy <> 'canary' OR p_registry.canary_traffic_percent >= 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'HC409', COLUMN = 'strategy',
            MESSAGE = format('model %L on %L has no canary in progress to %s', p_registry.model_name, p_registry.deployment_target, p_verb);
    END IF;
END
$$;

CREATE FUNCTION promote_ml_canary(p_model_name text, p_target text DEFAULT 'production', p_actor text DEFAULT NULL,
                                  p_notes text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry := ml_lock_deployment(p_model_name, p_target);
BEGIN
    PERFORM ml_require_canary(v_registry, 'promote');
    UPDATE ml_model_registry SET canary_traffic_percent = 100, updated_at = now() WHERE registry_id = v_registry.registry_id;
    INSERT INTO ml_deployment_event (model_name, deployment_target, action, from_version_id, to_version_id,
                                     deployment_strategy, canary_traffic_percent, actor, notes)
    VALUES (p_model_name, p_target, 'promote', v_registry.previous_version_id, v_registry.current_version_id,
            'canary', 100, p_actor, p_notes);
    RETURN v_registry.current_version_id;
END
$$;

-- The version the canary was tested against takes all traffic again.
CREATE FUNCTION abort_ml_canary(p_model_name text, p_target text DEFAULT 'production', p_actor text DEFAULT NULL,
                                p_notes text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_registry ml_model_registry := ml_lock_deployment(p_model_name, p_target);
BEGIN
    PERFORM ml_require_canary(v_registry, 'abort');
    RETURN ml_return_to_previous_version(v_registry, 'abort', 'blue-green', NULL, p_actor, p_notes);
END
$$;

-- One health check of a target's health URL.
CREATE TABLE ml_deployment_health_check (
    check_id      bigserial PRIMARY KEY,
    registry_id   bigint           NOT NULL REFERENCES ml_model_registry (registry_id) ON DELETE CASCADE,
    version_id    bigint           REFERENCES ml_model_version (version_id) ON DELETE SET NULL,
    checked_at    timestamptz      NOT NULL DEFAULT now(),
    ok            boolean          NOT NULL,
    status_code   integer,
    latency_ms    double precision,
    error         text,
    health_status text             NOT NULL,
    CONSTRAINT ml_deployment_health_check_status_valid CHECK (health_status IN ('healthy', 'degraded', 'unhealthy'))
);
CREATE INDEX ml_deployment_health_check_registry_idx ON ml_deployment_health_check (registry_id, checked_at DESC);
