-- Image integrations: how Central logs in to registries. The JSON document
-- is the integration with every secret field encrypted (secret package:
-- "v1:" + base64); name, type and the times are copies for listing and
-- uniqueness.
CREATE TABLE image_integrations (
    id          TEXT${BYTEORDER} PRIMARY KEY,
    name        TEXT${BYTEORDER} NOT NULL,
    name_fold   TEXT${BYTEORDER} NOT NULL,
    type        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    body        ${BLOB} NOT NULL
);
CREATE UNIQUE INDEX image_integrations_name_fold ON image_integrations (name_fold);

-- Scanned images, one row per manifest digest. The JSON document (a
-- scan.Image, byte for byte) is authoritative; the other columns are copies
-- for listing, search and sorting. vulndb_version is the version of the
-- vulnerability database the document was matched against, so a stale
-- match is redone. body comes last (see 0002).
CREATE TABLE images (
    digest          TEXT${BYTEORDER} PRIMARY KEY,
    full_name       TEXT${BYTEORDER} NOT NULL,
    registry        TEXT${BYTEORDER} NOT NULL,
    remote          TEXT${BYTEORDER} NOT NULL,
    tag             TEXT${BYTEORDER} NOT NULL,
    search_text     TEXT NOT NULL,
    scan_time       BIGINT NOT NULL,
    vulndb_version  TEXT NOT NULL,
    components      INTEGER NOT NULL,
    vulns           INTEGER NOT NULL,
    critical        INTEGER NOT NULL,
    important       INTEGER NOT NULL,
    moderate        INTEGER NOT NULL,
    low             INTEGER NOT NULL,
    fixable         INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    body            ${BLOB} NOT NULL
);
-- The "name", "scanTime" and "critical" sorts.
CREATE INDEX images_name ON images (full_name, digest);
CREATE INDEX images_scan_time ON images (scan_time, digest);
CREATE INDEX images_critical ON images (critical, digest);

-- The digest each image name (registry/remote:tag or @digest) last resolved
-- to: deploy-time detection finds a container's scan by the image name, and
-- rescans re-resolve tags that may have moved.
CREATE TABLE image_names (
    full_name   TEXT${BYTEORDER} PRIMARY KEY,
    digest      TEXT${BYTEORDER} NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX image_names_digest ON image_names (digest);

-- When each vulnerability was first seen in an image (by digest), and in
-- any image at all. Rows outlive rescans, so first-seen times are kept.
CREATE TABLE image_vulns_seen (
    digest      TEXT${BYTEORDER} NOT NULL,
    vuln_id     TEXT${BYTEORDER} NOT NULL,
    first_seen  BIGINT NOT NULL,
    PRIMARY KEY (digest, vuln_id)
);
CREATE TABLE vulns_seen (
    vuln_id     TEXT${BYTEORDER} PRIMARY KEY,
    first_seen  BIGINT NOT NULL
);
