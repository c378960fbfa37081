-- Alert documents move out of the alerts table. A document carries its
-- policy's texts and every violation (kilobytes); with it inline, each alert
-- row filled most of a page, so the dashboard's counts and sorted pages over
-- tens of thousands of alerts read hundreds of megabytes. The alerts table
-- keeps the columns lists filter, sort and count on (a few hundred bytes a
-- row); a page of alerts joins the documents of its own rows only.
CREATE TABLE alert_documents (
    id    TEXT PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    body  ${BLOB} NOT NULL
);
INSERT INTO alert_documents (id, body) SELECT id, body FROM alerts;
ALTER TABLE alerts DROP COLUMN body;

-- The violations list's default view (active alerts) sorted by severity,
-- newest first within a severity, without a sort step.
CREATE INDEX alerts_state_severity ON alerts (state, severity_rank, created_at, id);

-- The dashboard's counts of active alerts (by cluster, namespace and
-- deployment with their worst severity; by policy) read these indexes alone,
-- never the table.
CREATE INDEX alerts_state_place ON alerts (state, cluster_name, namespace, deployment_id, deployment_name, severity_rank);
CREATE INDEX alerts_state_policy ON alerts (state, policy_id, policy_name);

-- Active alerts newest first, ties by id, from the index alone: a page deep
-- in the list skips index entries, not rows.
DROP INDEX alerts_state;
CREATE INDEX alerts_state ON alerts (state, created_at, id);

-- Sorted by policy or deployment name (either direction), from the index
-- order: only the ties within a name are sorted, by time.
CREATE INDEX alerts_state_policy_name ON alerts (state, policy_name${BYTEORDER}, created_at);
CREATE INDEX alerts_state_deployment_name ON alerts (state, deployment_name${BYTEORDER}, created_at);
CREATE INDEX alerts_policy_name ON alerts (policy_name${BYTEORDER}, created_at);
DROP INDEX alerts_deployment_name;
CREATE INDEX alerts_deployment_name ON alerts (deployment_name${BYTEORDER}, created_at);
