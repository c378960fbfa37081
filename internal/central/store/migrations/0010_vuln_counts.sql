-- Vulnerability counts kept on writes (vulncount.go): how many deployments
-- each CVE affects, across the system and per cluster and namespace, and
-- each deployment's CVE counts by severity. They are derived from
-- image_cves, deployment_images and image_names in the transaction that
-- changes those, so the lists read them instead of joining deployments to
-- images on every call.

-- Every deployment with the digests its images resolve to (a JSON array,
-- sorted) and the distinct CVEs of those images, each at its highest
-- severity. images is the number of image names it runs. search_text is
-- the folded name, namespace and cluster a text filter matches.
CREATE TABLE deployment_vulns (
    deployment_id  TEXT${BYTEORDER} PRIMARY KEY,
    cluster        TEXT${BYTEORDER} NOT NULL,
    namespace      TEXT${BYTEORDER} NOT NULL,
    name           TEXT${BYTEORDER} NOT NULL,
    search_text    TEXT NOT NULL,
    digests        TEXT NOT NULL,
    images         INTEGER NOT NULL,
    cves           INTEGER NOT NULL,
    critical       INTEGER NOT NULL,
    important      INTEGER NOT NULL,
    moderate       INTEGER NOT NULL,
    low            INTEGER NOT NULL,
    fixable        INTEGER NOT NULL
);
-- The sorts of the deployments-with-CVEs list; ties by name, namespace,
-- cluster and id.
CREATE INDEX deployment_vulns_name ON deployment_vulns (name, namespace, cluster, deployment_id);
CREATE INDEX deployment_vulns_namespace ON deployment_vulns (namespace, name, cluster, deployment_id);
CREATE INDEX deployment_vulns_cluster ON deployment_vulns (cluster, name, namespace, deployment_id);
CREATE INDEX deployment_vulns_cves ON deployment_vulns (cves, name, namespace, cluster, deployment_id);
CREATE INDEX deployment_vulns_critical ON deployment_vulns (critical, name, namespace, cluster, deployment_id);
CREATE INDEX deployment_vulns_important ON deployment_vulns (important, name, namespace, cluster, deployment_id);
CREATE INDEX deployment_vulns_fixable ON deployment_vulns (fixable, name, namespace, cluster, deployment_id);
CREATE INDEX deployment_vulns_images ON deployment_vulns (images, name, namespace, cluster, deployment_id);

-- How many deployments of each cluster and namespace run each stored
-- digest (rows with none are removed).
CREATE TABLE scope_images (
    cluster      TEXT${BYTEORDER} NOT NULL,
    namespace    TEXT${BYTEORDER} NOT NULL,
    digest       TEXT${BYTEORDER} NOT NULL,
    deployments  INTEGER NOT NULL,
    PRIMARY KEY (cluster, namespace, digest)
);
CREATE INDEX scope_images_digest ON scope_images (digest);

-- Each CVE within one cluster and namespace: the distinct deployments there
-- running an image it affects, the distinct images, and the highest
-- severity, score and CVSS version and whether some image has a fix,
-- among those images. A deployment belongs to exactly one cluster and
-- namespace, so deployments add up across namespaces.
CREATE TABLE scope_cves (
    cluster       TEXT${BYTEORDER} NOT NULL,
    namespace     TEXT${BYTEORDER} NOT NULL,
    vuln_id       TEXT${BYTEORDER} NOT NULL,
    deployments   INTEGER NOT NULL,
    images        INTEGER NOT NULL,
    severity      INTEGER NOT NULL,
    cvss          DOUBLE PRECISION NOT NULL,
    cvss_version  TEXT NOT NULL,
    fixable       INTEGER NOT NULL,
    PRIMARY KEY (cluster, namespace, vuln_id)
);
CREATE INDEX scope_cves_namespace ON scope_cves (namespace, vuln_id);

-- The distinct deployments each CVE affects across the system, and the CVE
-- list's sort by it.
ALTER TABLE cves ADD COLUMN deployments INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cves_deployments ON cves (deployments, vuln_id);

-- Built from the documents when the store next opens (the same pass that
-- builds migration 0009's index), which this marker asks for.
INSERT INTO settings (name, value, updated_at) VALUES ('store/reindex-vulns', '0010', 0)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value;
