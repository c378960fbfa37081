-- Deployments: every workload Central knows of, recorded through the API or
-- (later) streamed by each cluster's Sensor, so tens of thousands of rows.
-- The JSON document (a workload.Deployment, stored byte for byte) is
-- authoritative; the other columns are copies for lookups, search and order.
--
-- The key and sort columns compare by code point on both backends (the
-- BYTEORDER placeholder is COLLATE "C" on PostgreSQL and nothing on SQLite,
-- whose default already does), so an ORDER BY on them is index-backed and
-- sorts alike everywhere. body comes last: SQLite then reads the other
-- columns of a row without following the document's overflow pages.
CREATE TABLE deployments (
    id           TEXT${BYTEORDER} PRIMARY KEY,
    cluster      TEXT${BYTEORDER} NOT NULL,
    namespace    TEXT${BYTEORDER} NOT NULL,
    name         TEXT${BYTEORDER} NOT NULL,
    kind         TEXT${BYTEORDER} NOT NULL,
    source       TEXT${BYTEORDER} NOT NULL,
    search_text  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    body         ${BLOB} NOT NULL
);
-- Lookups by cluster, cluster and namespace, or all three; also the "cluster" sort.
CREATE INDEX deployments_location ON deployments (cluster, namespace, name, id);
-- The "name" sort and lookups by name alone.
CREATE INDEX deployments_name ON deployments (name, namespace, cluster, id);
-- The "updated" and "-updated" sorts.
CREATE INDEX deployments_updated ON deployments (updated_at, id);

-- The stop-gap inventory kept recorded deployments in settings; the table
-- replaces it. Its entries were a bounded cache of what detection was shown,
-- refilled by the next recording, so they are dropped rather than converted.
DELETE FROM settings WHERE name = 'inventory/index' OR substr(name, 1, 21) = 'inventory/deployment/';
