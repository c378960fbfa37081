-- Policies: the JSON document is authoritative; the other columns are copies the
-- store needs for uniqueness, listing and toggling.
CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_fold   TEXT NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    body        ${BLOB} NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX policies_name_fold ON policies (name_fold);

-- Alerts: the filter and sort columns are denormalized from the JSON document.
CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    policy_id        TEXT NOT NULL,
    policy_name      TEXT NOT NULL,
    severity         TEXT NOT NULL,
    severity_rank    INTEGER NOT NULL,
    lifecycle_stage  TEXT NOT NULL,
    state            TEXT NOT NULL,
    cluster_name     TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    deployment_id    TEXT NOT NULL,
    deployment_name  TEXT NOT NULL,
    entity_type      TEXT NOT NULL,
    enforced         BOOLEAN NOT NULL,
    search_text      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    body             ${BLOB} NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at, id);
CREATE INDEX alerts_policy ON alerts (policy_id, created_at);
CREATE INDEX alerts_severity ON alerts (severity, created_at);
CREATE INDEX alerts_severity_rank ON alerts (severity_rank, created_at);
CREATE INDEX alerts_state ON alerts (state, created_at);
CREATE INDEX alerts_cluster ON alerts (cluster_name, namespace, created_at);
CREATE INDEX alerts_namespace ON alerts (namespace, created_at);
CREATE INDEX alerts_deployment_name ON alerts (deployment_name, created_at);
CREATE INDEX alerts_deployment_id ON alerts (deployment_id, created_at);
CREATE INDEX alerts_stage ON alerts (lifecycle_stage, created_at);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    secret_hash   ${BLOB} NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);

CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
