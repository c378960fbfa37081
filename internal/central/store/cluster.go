package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// InitBundleRecord is an init bundle: who made it and when, when its
// certificates expire, whether it was revoked, and the serial numbers of
// its certificates. Private keys are never stored.
type InitBundleRecord struct {
	ID        string
	Name      string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time // nil: not revoked
	Certs     []InitBundleCert
}

// InitBundleCert is one certificate of a bundle: its serial number in
// lower-case hex and the service it authenticates (SENSOR_SERVICE, …).
type InitBundleCert struct {
	Serial  string
	Service string
}

const initBundleColumns = `id, name, created_by, created_at, expires_at, revoked_at`

func scanInitBundle(row interface{ Scan(...any) error }) (InitBundleRecord, error) {
	var (
		b                InitBundleRecord
		created, expires int64
		revoked          sql.NullInt64
	)
	if err := row.Scan(&b.ID, &b.Name, &b.CreatedBy, &created, &expires, &revoked); err != nil {
		return InitBundleRecord{}, err
	}
	b.CreatedAt, b.ExpiresAt, b.RevokedAt = fromNanos(created), fromNanos(expires), fromNullNanos(revoked)
	return b, nil
}

// CreateInitBundle stores a new bundle and its certificates' serials. An
// existing id or serial, or the name of a bundle not revoked
// (case-insensitively), is ErrConflict. A zero CreatedAt is set to now.
func (s *Store) CreateInitBundle(ctx context.Context, b InitBundleRecord) error {
	if err := checkKey("init bundle id", b.ID, true); err != nil {
		return fmt.Errorf("create init bundle: %w", err)
	}
	if err := checkKey("init bundle name", b.Name, true); err != nil {
		return fmt.Errorf("create init bundle %q: %w", b.ID, err)
	}
	if err := checkKey("init bundle creator", b.CreatedBy, false); err != nil {
		return fmt.Errorf("create init bundle %q: %w", b.ID, err)
	}
	if len(b.Certs) == 0 {
		return fmt.Errorf("create init bundle %q: no certificates: %w", b.ID, ErrInvalid)
	}
	for _, c := range b.Certs {
		if err := checkKey("certificate serial", c.Serial, true); err != nil {
			return fmt.Errorf("create init bundle %q: %w", b.ID, err)
		}
		if err := checkKey("certificate service", c.Service, true); err != nil {
			return fmt.Errorf("create init bundle %q: %w", b.ID, err)
		}
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	}
	created, err := nanos("created", b.CreatedAt)
	if err != nil {
		return fmt.Errorf("create init bundle %q: %w", b.ID, err)
	}
	expires, err := nanos("expires", b.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create init bundle %q: %w", b.ID, err)
	}
	revoked, err := nullNanos("revoked", b.RevokedAt)
	if err != nil {
		return fmt.Errorf("create init bundle %q: %w", b.ID, err)
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		q := tx.q()
		var clash string
		err := q.queryRow(ctx, `SELECT name FROM init_bundles WHERE id = ? OR (name_fold = ? AND revoked_at IS NULL)`, b.ID, fold(b.Name)).Scan(&clash)
		switch {
		case err == nil:
			return fmt.Errorf("init bundle %q: a bundle with this id or name exists (%q): %w", b.Name, clash, ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("create init bundle %q: %w", b.ID, err)
		}
		_, err = q.exec(ctx, `INSERT INTO init_bundles (id, name, name_fold, created_by, created_at, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.ID, b.Name, fold(b.Name), b.CreatedBy, created, expires, revoked)
		if q.d.isUniqueViolation(err) {
			return fmt.Errorf("init bundle %q: %w", b.Name, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create init bundle %q: %w", b.ID, err)
		}
		for _, c := range b.Certs {
			_, err := q.exec(ctx, `INSERT INTO init_bundle_certs (serial, bundle_id, service) VALUES (?, ?, ?)`, c.Serial, b.ID, c.Service)
			if q.d.isUniqueViolation(err) {
				return fmt.Errorf("init bundle %q: certificate serial %s exists: %w", b.Name, c.Serial, ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("create init bundle %q: certificate %s: %w", b.ID, c.Serial, err)
			}
		}
		return nil
	})
}

// ListInitBundles returns every bundle, revoked ones too, oldest first,
// each with its certificates.
func (s *Store) ListInitBundles(ctx context.Context) ([]InitBundleRecord, error) {
	var out []InitBundleRecord
	err := s.read(ctx, func(q querier) error {
		rows, err := q.query(ctx, `SELECT `+initBundleColumns+` FROM init_bundles ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		at := map[string]int{}
		for rows.Next() {
			b, err := scanInitBundle(rows)
			if err != nil {
				return err
			}
			at[b.ID] = len(out)
			out = append(out, b)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		certs, err := q.query(ctx, `SELECT serial, bundle_id, service FROM init_bundle_certs ORDER BY service, serial`)
		if err != nil {
			return err
		}
		defer certs.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
		for certs.Next() {
			var c InitBundleCert
			var id string
			if err := certs.Scan(&c.Serial, &id, &c.Service); err != nil {
				return err
			}
			if i, ok := at[id]; ok {
				out[i].Certs = append(out[i].Certs, c)
			}
		}
		return certs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list init bundles: %w", err)
	}
	return out, nil
}

// GetInitBundle returns the bundle with id and its certificates, or an
// ErrNotFound error.
func (s *Store) GetInitBundle(ctx context.Context, id string) (InitBundleRecord, error) {
	var b InitBundleRecord
	err := s.read(ctx, func(q querier) error {
		var err error
		b, err = q.getInitBundle(ctx, id)
		return err
	})
	return b, err
}

func (q querier) getInitBundle(ctx context.Context, id string) (InitBundleRecord, error) {
	b, err := scanInitBundle(q.queryRow(ctx, `SELECT `+initBundleColumns+` FROM init_bundles WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return InitBundleRecord{}, fmt.Errorf("init bundle %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return InitBundleRecord{}, fmt.Errorf("get init bundle %q: %w", id, err)
	}
	rows, err := q.query(ctx, `SELECT serial, service FROM init_bundle_certs WHERE bundle_id = ? ORDER BY service, serial`, id)
	if err != nil {
		return InitBundleRecord{}, fmt.Errorf("get init bundle %q certificates: %w", id, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		var c InitBundleCert
		if err := rows.Scan(&c.Serial, &c.Service); err != nil {
			return InitBundleRecord{}, fmt.Errorf("get init bundle %q certificates: %w", id, err)
		}
		b.Certs = append(b.Certs, c)
	}
	if err := rows.Err(); err != nil {
		return InitBundleRecord{}, fmt.Errorf("get init bundle %q certificates: %w", id, err)
	}
	return b, nil
}

// InitBundleForCert returns the bundle a certificate serial (lower-case
// hex) belongs to and that certificate, or an ErrNotFound error.
func (s *Store) InitBundleForCert(ctx context.Context, serial string) (InitBundleRecord, InitBundleCert, error) {
	if err := checkKey("certificate serial", serial, true); err != nil {
		return InitBundleRecord{}, InitBundleCert{}, fmt.Errorf("find init bundle: %w", err)
	}
	var (
		b InitBundleRecord
		c = InitBundleCert{Serial: serial}
	)
	err := s.read(ctx, func(q querier) error {
		var id string
		err := q.queryRow(ctx, `SELECT bundle_id, service FROM init_bundle_certs WHERE serial = ?`, serial).Scan(&id, &c.Service)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("certificate serial %s: %w", serial, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("find init bundle of certificate %s: %w", serial, err)
		}
		b, err = q.getInitBundle(ctx, id)
		return err
	})
	if err != nil {
		return InitBundleRecord{}, InitBundleCert{}, err
	}
	return b, c, nil
}

// RevokeInitBundle marks the bundle with id revoked at at and returns it.
// Revoking a revoked bundle keeps the first revocation time. A missing
// bundle is ErrNotFound.
func (s *Store) RevokeInitBundle(ctx context.Context, id string, at time.Time) (InitBundleRecord, error) {
	n, err := nanos("revoked", at)
	if err != nil {
		return InitBundleRecord{}, fmt.Errorf("revoke init bundle %q: %w", id, err)
	}
	var b InitBundleRecord
	err = s.inBookkeepingTx(ctx, func(tx *Tx) error {
		q := tx.q()
		res, err := q.exec(ctx, `UPDATE init_bundles SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, n, id)
		if err != nil {
			return fmt.Errorf("revoke init bundle %q: %w", id, err)
		}
		if err := mustAffect(res, fmt.Sprintf("init bundle %q", id)); err != nil {
			return err
		}
		b, err = q.getInitBundle(ctx, id)
		return err
	})
	return b, err
}

// ClusterRecord is a secured cluster as its Sensor last described it.
type ClusterRecord struct {
	ID                string
	Name              string
	SensorVersion     string
	KubernetesVersion string
	Capabilities      []string
	// InitBundleID is the bundle whose certificate the Sensor last
	// connected with.
	InitBundleID string
	CreatedAt    time.Time
	LastContact  time.Time
}

const clusterColumns = `id, name, sensor_version, kubernetes_version, capabilities, init_bundle_id, created_at, last_contact`

func scanCluster(row interface{ Scan(...any) error }) (ClusterRecord, error) {
	var (
		c             ClusterRecord
		caps          string
		created, last int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SensorVersion, &c.KubernetesVersion, &caps, &c.InitBundleID, &created, &last); err != nil {
		return ClusterRecord{}, err
	}
	if err := json.Unmarshal([]byte(caps), &c.Capabilities); err != nil {
		return ClusterRecord{}, fmt.Errorf("cluster %q capabilities: %w", c.ID, err)
	}
	c.CreatedAt, c.LastContact = fromNanos(created), fromNanos(last)
	return c, nil
}

// maxCapabilities bounds the capabilities a cluster record keeps.
const maxCapabilities = 64

// RegisterCluster records a Sensor's hello: a cluster with c.Name is
// created with c.ID, or the existing one keeps its id and creation time
// and takes c's versions, capabilities, bundle and last contact. It
// returns the stored record. A zero LastContact is now; a zero CreatedAt
// is LastContact.
func (s *Store) RegisterCluster(ctx context.Context, c ClusterRecord) (ClusterRecord, error) {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"cluster id", c.ID, true}, {"cluster name", c.Name, true}, {"sensor version", c.SensorVersion, false},
		{"kubernetes version", c.KubernetesVersion, false}, {"init bundle id", c.InitBundleID, false},
	} {
		if err := checkKey(f.name, f.v, f.required); err != nil {
			return ClusterRecord{}, fmt.Errorf("register cluster %q: %w", c.Name, err)
		}
	}
	if len(c.Capabilities) > maxCapabilities {
		return ClusterRecord{}, fmt.Errorf("register cluster %q: %d capabilities, more than %d: %w", c.Name, len(c.Capabilities), maxCapabilities, ErrInvalid)
	}
	for _, cp := range c.Capabilities {
		if err := checkKey("capability", cp, true); err != nil {
			return ClusterRecord{}, fmt.Errorf("register cluster %q: %w", c.Name, err)
		}
	}
	if c.Capabilities == nil {
		c.Capabilities = []string{}
	}
	caps, err := json.Marshal(c.Capabilities)
	if err != nil {
		return ClusterRecord{}, fmt.Errorf("register cluster %q: %w", c.Name, err)
	}
	if c.LastContact.IsZero() {
		c.LastContact = now()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.LastContact
	}
	created, err := nanos("created", c.CreatedAt)
	if err != nil {
		return ClusterRecord{}, fmt.Errorf("register cluster %q: %w", c.Name, err)
	}
	last, err := nanos("last contact", c.LastContact)
	if err != nil {
		return ClusterRecord{}, fmt.Errorf("register cluster %q: %w", c.Name, err)
	}
	var out ClusterRecord
	err = s.InTx(ctx, func(tx *Tx) error {
		q := tx.q()
		// Both SQLite (3.35+) and PostgreSQL spell the upsert and RETURNING
		// this way; id and created_at are not among the updated columns.
		out, err = scanCluster(q.queryRow(ctx, `INSERT INTO clusters (`+clusterColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET sensor_version = excluded.sensor_version,
				kubernetes_version = excluded.kubernetes_version, capabilities = excluded.capabilities,
				init_bundle_id = excluded.init_bundle_id, last_contact = excluded.last_contact
			RETURNING `+clusterColumns,
			c.ID, c.Name, c.SensorVersion, c.KubernetesVersion, string(caps), c.InitBundleID, created, last))
		if q.d.isUniqueViolation(err) {
			return fmt.Errorf("cluster id %q: %w", c.ID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("register cluster %q: %w", c.Name, err)
		}
		return nil
	})
	return out, err
}

// TouchCluster moves the last contact of the cluster with id to at, never
// backwards. A missing cluster is ErrNotFound.
func (s *Store) TouchCluster(ctx context.Context, id string, at time.Time) error {
	n, err := nanos("last contact", at)
	if err != nil {
		return fmt.Errorf("touch cluster %q: %w", id, err)
	}
	return s.inBookkeepingTx(ctx, func(tx *Tx) error {
		res, err := tx.q().exec(ctx, `UPDATE clusters SET last_contact = CASE WHEN last_contact < ? THEN ? ELSE last_contact END WHERE id = ?`, n, n, id)
		if err != nil {
			return fmt.Errorf("touch cluster %q: %w", id, err)
		}
		return mustAffect(res, fmt.Sprintf("cluster %q", id))
	})
}

// ListClusters returns every cluster by name.
func (s *Store) ListClusters(ctx context.Context) ([]ClusterRecord, error) {
	rows, err := s.direct().query(ctx, `SELECT `+clusterColumns+` FROM clusters ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []ClusterRecord
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	return out, nil
}

// GetCluster returns the cluster with id, or an ErrNotFound error.
func (s *Store) GetCluster(ctx context.Context, id string) (ClusterRecord, error) {
	c, err := scanCluster(s.direct().queryRow(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ClusterRecord{}, fmt.Errorf("cluster %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return ClusterRecord{}, fmt.Errorf("get cluster %q: %w", id, err)
	}
	return c, nil
}

// ClusterDeploymentIDs returns the ids of the deployments of cluster (by
// name) that source reported, in id order.
func (s *Store) ClusterDeploymentIDs(ctx context.Context, cluster, source string) ([]string, error) {
	if err := checkKey("cluster", cluster, true); err != nil {
		return nil, fmt.Errorf("list cluster deployments: %w", err)
	}
	if err := checkKey("source", source, true); err != nil {
		return nil, fmt.Errorf("list cluster deployments: %w", err)
	}
	rows, err := s.direct().query(ctx, `SELECT id FROM deployments WHERE cluster = ? AND source = ? ORDER BY id`, cluster, source)
	if err != nil {
		return nil, fmt.Errorf("list deployments of cluster %q: %w", cluster, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list deployments of cluster %q: %w", cluster, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deployments of cluster %q: %w", cluster, err)
	}
	return out, nil
}

// DeploymentClusters returns the cluster of each of ids that is stored.
func (tx *Tx) DeploymentClusters(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	q := tx.q()
	for start := 0; start < len(ids); start += deploymentChunk {
		if err := q.deploymentClusters(ctx, ids[start:min(start+deploymentChunk, len(ids))], out); err != nil {
			return nil, fmt.Errorf("look up deployment clusters: %w", err)
		}
	}
	return out, nil
}

func (q querier) deploymentClusters(ctx context.Context, ids []string, out map[string]string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	rows, err := q.query(ctx, `SELECT id, cluster FROM deployments WHERE id IN (`+marks+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	for rows.Next() {
		var id, cluster string
		if err := rows.Scan(&id, &cluster); err != nil {
			return err
		}
		out[id] = cluster
	}
	return rows.Err()
}

// OpenDeploymentAlerts returns the ACTIVE alerts of the deployment with
// id, oldest first.
func (tx *Tx) OpenDeploymentAlerts(ctx context.Context, deploymentID string) ([]AlertRecord, error) {
	rows, err := tx.q().query(ctx, `SELECT `+alertColumns+alertsWithDocuments+
		` WHERE a.deployment_id = ? AND a.state = ? ORDER BY a.created_at, a.id`,
		deploymentID, AlertActive)
	if err != nil {
		return nil, fmt.Errorf("open alerts of deployment %q: %w", deploymentID, err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked; closing a read loses nothing
	var out []AlertRecord
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("open alerts of deployment %q: %w", deploymentID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open alerts of deployment %q: %w", deploymentID, err)
	}
	return out, nil
}

// UpdateAlertDocument replaces the document of the alert with id (when
// its violations changed) and bumps its UpdatedAt. A missing alert is
// ErrNotFound.
func (tx *Tx) UpdateAlertDocument(ctx context.Context, id string, doc []byte) error {
	if err := checkDoc(fmt.Sprintf("alert %q JSON", id), doc); err != nil {
		return err
	}
	tx.alertsChanged = true
	res, err := tx.q().exec(ctx, `UPDATE alerts SET updated_at = ? WHERE id = ?`, now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("update alert %q: %w", id, err)
	}
	if err := mustAffect(res, fmt.Sprintf("alert %q", id)); err != nil {
		return err
	}
	if _, err := tx.q().exec(ctx, `UPDATE alert_documents SET body = ? WHERE id = ?`, doc, id); err != nil {
		return fmt.Errorf("update alert %q document: %w", id, err)
	}
	return nil
}
