-- Vulnerability management reads across images and deployments: which CVEs
-- affect which images and components, and which images each deployment
-- runs. Both tables are indexes of the JSON documents (images.body,
-- deployments.body), rewritten in the same transaction as the document, so
-- the documents stay authoritative.

-- One row per vulnerability per affected component of each stored image.
-- severity is the rank (0 UNKNOWN, 1 LOW, 2 MODERATE, 3 IMPORTANT,
-- 4 CRITICAL); fixable is 1 when fixed_by is set.
CREATE TABLE image_cves (
    digest        TEXT${BYTEORDER} NOT NULL,
    seq           INTEGER NOT NULL,
    vuln_id       TEXT${BYTEORDER} NOT NULL,
    severity      INTEGER NOT NULL,
    cvss          DOUBLE PRECISION NOT NULL,
    cvss_version  TEXT NOT NULL,
    fixable       INTEGER NOT NULL,
    component     TEXT NOT NULL,
    version       TEXT NOT NULL,
    comp_type     TEXT NOT NULL,
    layer         TEXT NOT NULL,
    fixed_by      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    PRIMARY KEY (digest, seq)
);
-- Aggregates per CVE (and per image, for deployments' counts) read the
-- covering columns from these indexes alone.
CREATE INDEX image_cves_vuln ON image_cves (vuln_id, digest, severity, cvss, fixable, cvss_version);
CREATE INDEX image_cves_digest ON image_cves (digest, vuln_id, severity, fixable);

-- Each CVE across every stored image, recomputed from image_cves for the
-- CVEs an image upsert touches: the highest severity and score, whether
-- some image has a fix, how many images have it. search_text is the folded
-- id, summary and affected component names a CVE query matches.
CREATE TABLE cves (
    vuln_id       TEXT${BYTEORDER} PRIMARY KEY,
    severity      INTEGER NOT NULL,
    cvss          DOUBLE PRECISION NOT NULL,
    cvss_version  TEXT NOT NULL,
    fixable       INTEGER NOT NULL,
    images        INTEGER NOT NULL,
    summary       TEXT NOT NULL,
    search_text   TEXT NOT NULL
);
-- The CVE list's sorts.
CREATE INDEX cves_severity ON cves (severity, cvss, vuln_id);
CREATE INDEX cves_cvss ON cves (cvss, vuln_id);
CREATE INDEX cves_images ON cves (images, vuln_id);

-- The image names (workload.Image: REGISTRY/REMOTE:TAG, or
-- REGISTRY/REMOTE@DIGEST when pinned) each deployment's containers run.
-- Names resolve to digests through image_names at query time, so
-- deployments and scans may arrive in either order.
CREATE TABLE deployment_images (
    deployment_id  TEXT${BYTEORDER} NOT NULL,
    image_name     TEXT${BYTEORDER} NOT NULL,
    PRIMARY KEY (deployment_id, image_name)
);
CREATE INDEX deployment_images_name ON deployment_images (image_name, deployment_id);

-- The image list's "vulns" and "fixable" sorts.
CREATE INDEX images_vulns ON images (vulns, digest);
CREATE INDEX images_fixable ON images (fixable, digest);

-- Rows stored before this migration are indexed when the store next opens
-- (Go decodes the documents); the marker says that is still to do.
INSERT INTO settings (name, value, updated_at) VALUES ('store/reindex-vulns', '0009', 0);
