-- Init bundles: the client certificates a secured cluster's Sensor and
-- admission control authenticate to Central with. Only metadata and the
-- certificates' serial numbers are kept, never a private key. A name is
-- unique among the bundles not revoked, so a revoked bundle's name can be
-- used again.
CREATE TABLE init_bundles (
    id          TEXT${BYTEORDER} PRIMARY KEY,
    name        TEXT${BYTEORDER} NOT NULL,
    name_fold   TEXT${BYTEORDER} NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE UNIQUE INDEX init_bundles_name_fold ON init_bundles (name_fold) WHERE revoked_at IS NULL;

-- The certificates of each bundle by serial number (lower-case hex), which
-- is how Central finds the bundle of a connecting client.
CREATE TABLE init_bundle_certs (
    serial     TEXT${BYTEORDER} PRIMARY KEY,
    bundle_id  TEXT${BYTEORDER} NOT NULL REFERENCES init_bundles (id),
    service    TEXT NOT NULL
);
CREATE INDEX init_bundle_certs_bundle ON init_bundle_certs (bundle_id);

-- Secured clusters, one row per cluster name, created by its Sensor's
-- first hello and updated by every later one. capabilities is a JSON array
-- of strings. last_contact is when Central last heard from the Sensor.
CREATE TABLE clusters (
    id                  TEXT${BYTEORDER} PRIMARY KEY,
    name                TEXT${BYTEORDER} NOT NULL,
    sensor_version      TEXT NOT NULL,
    kubernetes_version  TEXT NOT NULL,
    capabilities        TEXT NOT NULL,
    init_bundle_id      TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    last_contact        BIGINT NOT NULL
);
CREATE UNIQUE INDEX clusters_name ON clusters (name);
