package store

import (
	"slices"
	"testing"
	"time"
)

// TestClusterStore runs the init bundle and cluster cases against every
// backend, each on a fresh store.
func TestClusterStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range []struct {
				name string
				fn   func(t *testing.T, s *Store)
			}{
				{"InitBundles", testInitBundles},
				{"InitBundleValidation", testInitBundleValidation},
				{"Clusters", testClusters},
				{"ClusterDeployments", testClusterDeployments},
				{"OpenDeploymentAlerts", testOpenDeploymentAlerts},
			} {
				t.Run(c.name, func(t *testing.T) {
					dsn, dir := b.fresh(t)
					c.fn(t, openStore(t, dsn, dir))
				})
			}
		})
	}
}

func bundle(id, name string, serials ...string) InitBundleRecord {
	b := InitBundleRecord{ID: id, Name: name, CreatedBy: "admin", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}
	for i, s := range serials {
		svc := "SENSOR_SERVICE"
		if i%2 == 1 {
			svc = "ADMISSION_CONTROL_SERVICE"
		}
		b.Certs = append(b.Certs, InitBundleCert{Serial: s, Service: svc})
	}
	return b
}

func testInitBundles(t *testing.T, s *Store) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	b1 := bundle("b1", "Prod", "0a", "0b")
	b1.CreatedAt = created
	mustNil(t, s.CreateInitBundle(ctx, b1))
	mustNil(t, s.CreateInitBundle(ctx, bundle("b2", "staging", "1a", "1b")))

	got, err := s.GetInitBundle(ctx, "b1")
	mustNil(t, err)
	if got.Name != "Prod" || got.CreatedBy != "admin" || !got.CreatedAt.Equal(created) || !got.ExpiresAt.Equal(b1.ExpiresAt) || got.RevokedAt != nil {
		t.Fatalf("GetInitBundle = %+v", got)
	}
	if want := []InitBundleCert{{"0b", "ADMISSION_CONTROL_SERVICE"}, {"0a", "SENSOR_SERVICE"}}; !slices.Equal(got.Certs, want) {
		t.Fatalf("certs = %v, want %v", got.Certs, want)
	}
	_, err = s.GetInitBundle(ctx, "nope")
	mustIs(t, err, ErrNotFound)

	// Names are unique among live bundles, case-insensitively; ids and
	// serials are unique.
	mustIs(t, s.CreateInitBundle(ctx, bundle("b3", "PROD", "2a")), ErrConflict)
	mustIs(t, s.CreateInitBundle(ctx, bundle("b1", "other", "3a")), ErrConflict)
	mustIs(t, s.CreateInitBundle(ctx, bundle("b4", "other", "0a")), ErrConflict)
	// The failed create left nothing behind.
	list, err := s.ListInitBundles(ctx)
	mustNil(t, err)
	if len(list) != 2 || list[0].ID != "b1" || list[1].ID != "b2" || len(list[1].Certs) != 2 {
		t.Fatalf("ListInitBundles = %+v", list)
	}

	b, c, err := s.InitBundleForCert(ctx, "1b")
	mustNil(t, err)
	if b.ID != "b2" || c.Service != "ADMISSION_CONTROL_SERVICE" {
		t.Fatalf("InitBundleForCert(1b) = %+v, %+v", b, c)
	}
	_, _, err = s.InitBundleForCert(ctx, "ff")
	mustIs(t, err, ErrNotFound)

	at := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	rb, err := s.RevokeInitBundle(ctx, "b1", at)
	mustNil(t, err)
	if rb.RevokedAt == nil || !rb.RevokedAt.Equal(at) {
		t.Fatalf("revoked at %v, want %v", rb.RevokedAt, at)
	}
	// A second revocation keeps the first time.
	rb, err = s.RevokeInitBundle(ctx, "b1", at.Add(time.Hour))
	mustNil(t, err)
	if !rb.RevokedAt.Equal(at) {
		t.Fatalf("second revocation moved the time to %v", rb.RevokedAt)
	}
	_, err = s.RevokeInitBundle(ctx, "nope", at)
	mustIs(t, err, ErrNotFound)
	b, _, err = s.InitBundleForCert(ctx, "0a")
	mustNil(t, err)
	if b.RevokedAt == nil {
		t.Fatal("the certificate's bundle does not say revoked")
	}
	// The revoked bundle's name is free again.
	mustNil(t, s.CreateInitBundle(ctx, bundle("b5", "prod", "5a")))
}

func testInitBundleValidation(t *testing.T, s *Store) {
	for name, b := range map[string]InitBundleRecord{
		"no id":      bundle("", "x", "1"),
		"no name":    bundle("x", "", "1"),
		"no certs":   bundle("x", "x"),
		"NUL name":   bundle("x", "a\x00b", "1"),
		"no serial":  bundle("x", "x", ""),
		"zero until": {ID: "x", Name: "x", Certs: []InitBundleCert{{"1", "S"}}, ExpiresAt: time.Time{}.Add(-time.Hour)},
	} {
		if err := s.CreateInitBundle(ctx, b); err == nil {
			t.Errorf("%s: created", name)
		}
	}
	_, _, err := s.InitBundleForCert(ctx, "")
	mustIs(t, err, ErrInvalid)
}

func testClusters(t *testing.T, s *Store) {
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := s.RegisterCluster(ctx, ClusterRecord{ID: "c1", Name: "prod", SensorVersion: "1.0", KubernetesVersion: "v1.36.3",
		Capabilities: []string{"admission"}, InitBundleID: "b1", LastContact: first})
	mustNil(t, err)
	if c.ID != "c1" || !c.CreatedAt.Equal(first) || !c.LastContact.Equal(first) || !slices.Equal(c.Capabilities, []string{"admission"}) {
		t.Fatalf("first hello = %+v", c)
	}
	// A later hello with the same name keeps the id and creation time.
	later := first.Add(time.Hour)
	c, err = s.RegisterCluster(ctx, ClusterRecord{ID: "c-new", Name: "prod", SensorVersion: "1.1", KubernetesVersion: "v1.36.4",
		InitBundleID: "b2", LastContact: later})
	mustNil(t, err)
	if c.ID != "c1" || !c.CreatedAt.Equal(first) || !c.LastContact.Equal(later) || c.SensorVersion != "1.1" ||
		c.KubernetesVersion != "v1.36.4" || c.InitBundleID != "b2" || len(c.Capabilities) != 0 || c.Capabilities == nil {
		t.Fatalf("second hello = %+v", c)
	}
	_, err = s.RegisterCluster(ctx, ClusterRecord{ID: "c2", Name: "dev"})
	mustNil(t, err)
	_, err = s.RegisterCluster(ctx, ClusterRecord{ID: "c1", Name: "clash"})
	mustIs(t, err, ErrConflict)
	_, err = s.RegisterCluster(ctx, ClusterRecord{ID: "c3", Name: ""})
	mustIs(t, err, ErrInvalid)

	list, err := s.ListClusters(ctx)
	mustNil(t, err)
	if len(list) != 2 || list[0].Name != "dev" || list[1].Name != "prod" {
		t.Fatalf("ListClusters = %+v", list)
	}

	// Last contact moves forward only.
	mustNil(t, s.TouchCluster(ctx, "c1", later.Add(time.Minute)))
	mustNil(t, s.TouchCluster(ctx, "c1", first))
	c, err = s.GetCluster(ctx, "c1")
	mustNil(t, err)
	if !c.LastContact.Equal(later.Add(time.Minute)) {
		t.Fatalf("last contact = %v", c.LastContact)
	}
	mustIs(t, s.TouchCluster(ctx, "nope", later), ErrNotFound)
	_, err = s.GetCluster(ctx, "nope")
	mustIs(t, err, ErrNotFound)
}

func testClusterDeployments(t *testing.T, s *Store) {
	recs := []DeploymentRecord{
		deployment("d2", "prod", "ns", "b"), deployment("d1", "prod", "ns", "a"),
		deployment("d3", "dev", "ns", "a"), deployment("d4", "prod", "ns", "c"),
	}
	for i := range recs {
		recs[i].Source = "sensor"
	}
	recs[3].Source = "api"
	mustNil(t, s.UpsertDeployments(ctx, recs))
	ids, err := s.ClusterDeploymentIDs(ctx, "prod", "sensor")
	mustNil(t, err)
	if !slices.Equal(ids, []string{"d1", "d2"}) {
		t.Fatalf("ClusterDeploymentIDs = %v", ids)
	}
	many := []string{"d1", "d3", "missing"}
	for i := range 250 {
		many = append(many, "x"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		got, err := tx.DeploymentClusters(ctx, many)
		if err != nil {
			return err
		}
		if len(got) != 2 || got["d1"] != "prod" || got["d3"] != "dev" {
			t.Errorf("DeploymentClusters = %v", got)
		}
		return nil
	}))
}

func testOpenDeploymentAlerts(t *testing.T, s *Store) {
	a1, a2, a3 := alert("a1"), alert("a2"), alert("a3")
	a2.DeploymentID = a1.DeploymentID
	a2.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a1.CreatedAt = a2.CreatedAt.Add(time.Second)
	a3.DeploymentID = a1.DeploymentID
	a3.State = AlertResolved
	mustNil(t, s.AddAlerts(ctx, []AlertRecord{a1, a2, a3, alert("other")}))
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		open, err := tx.OpenDeploymentAlerts(ctx, a1.DeploymentID)
		if err != nil {
			return err
		}
		if len(open) != 2 || open[0].ID != "a2" || open[1].ID != "a1" {
			t.Errorf("OpenDeploymentAlerts = %v", alertIDs(open))
		}
		if err := tx.UpdateAlertDocument(ctx, "a1", []byte(`{"id":"a1","v":2}`)); err != nil {
			return err
		}
		if err := tx.UpdateAlertDocument(ctx, "nope", []byte(`{}`)); err == nil {
			t.Error("updated a missing alert")
		}
		if err := tx.UpdateAlertDocument(ctx, "a1", []byte(`{`)); err == nil {
			t.Error("stored a broken document")
		}
		return nil
	}))
	got, err := s.GetAlert(ctx, "a1")
	mustNil(t, err)
	if string(got.JSON) != `{"id":"a1","v":2}` || !got.UpdatedAt.After(got.CreatedAt) {
		t.Fatalf("after update: %s, updated %v", got.JSON, got.UpdatedAt)
	}
}
