-- Open violations counted per deployment and per cluster. The deployments
-- list shows each row's ACTIVE alerts by severity, filters on having them
-- and sorts by them; the clusters list shows each cluster's. Both are
-- grouped counts over the ACTIVE alerts only, which these partial indexes
-- hold (resolved alerts, the bulk of an old installation, are left out).
--
-- state is a column of both although the WHERE fixes it: SQLite reads an
-- index as covering only when it holds every column the query names, and
-- the queries name state to pick the index; without it each count would
-- read every open alert's row, document and all.
--
-- deployment_id compares by code point (BYTEORDER) so that PostgreSQL can
-- join it with deployments.id, whose column has that collation, through
-- this index.
CREATE INDEX alerts_open_by_deployment ON alerts (deployment_id${BYTEORDER}, state, severity_rank) WHERE state = 'ACTIVE';
CREATE INDEX alerts_open_by_cluster ON alerts (cluster_name, namespace, state, severity_rank) WHERE state = 'ACTIVE';

