package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func deployment(id, cluster, namespace, name string) DeploymentRecord {
	return DeploymentRecord{
		ID: id, Cluster: cluster, Namespace: namespace, Name: name, Kind: "Deployment", Source: "api",
		JSON: fmt.Appendf(nil, `{"ID":%q,"Name":%q,"Namespace":%q,"ClusterName":%q}`, id, name, namespace, cluster),
	}
}

func deploymentIDs(ds []DeploymentRecord) string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return strings.Join(ids, ",")
}

// eachIDs collects the ids EachDeployment hands out.
func eachIDs(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	mustNil(t, s.EachDeployment(ctx, func(d DeploymentRecord) error {
		ids = append(ids, d.ID)
		return nil
	}))
	return ids
}

func sameDeployment(a, b DeploymentRecord) bool {
	return a.ID == b.ID && a.Cluster == b.Cluster && a.Namespace == b.Namespace && a.Name == b.Name &&
		a.Kind == b.Kind && a.Source == b.Source && bytes.Equal(a.JSON, b.JSON) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func testDeploymentUpsert(t *testing.T, s *Store) {
	created := time.Date(2025, 4, 1, 8, 0, 0, 123, time.UTC)
	d := deployment("uid-1", "prod", "shop", "web")
	d.Kind, d.Source = "StatefulSet", "sensor"
	d.CreatedAt, d.UpdatedAt = created, created.Add(time.Minute)
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{d}))
	got, err := s.GetDeployment(ctx, "uid-1")
	mustNil(t, err)
	if !sameDeployment(got, d) {
		t.Errorf("GetDeployment = %+v, want %+v", got, d)
	}

	// Replacing keeps the creation time whatever the record says.
	d2 := deployment("uid-1", "staging", "shop-2", "web-2")
	d2.JSON = []byte(`{"v":2}`)
	d2.CreatedAt, d2.UpdatedAt = created.Add(48*time.Hour), created.Add(time.Hour)
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{d2}))
	got, err = s.GetDeployment(ctx, "uid-1")
	mustNil(t, err)
	want := d2
	want.CreatedAt = created
	if !sameDeployment(got, want) {
		t.Errorf("after replace: %+v, want %+v", got, want)
	}
	// The copies move with the record: the old name no longer matches.
	if ds, total, _ := s.ListDeployments(ctx, DeploymentQuery{Name: "web"}); total != 0 || len(ds) != 0 {
		t.Errorf("old name still found: %s", deploymentIDs(ds))
	}
	if ds, _, _ := s.ListDeployments(ctx, DeploymentQuery{Text: "SHOP-2"}); deploymentIDs(ds) != "uid-1" {
		t.Errorf("new namespace not searchable: %s", deploymentIDs(ds))
	}

	// Zero times: created = updated = now on insert, only updated moves after.
	before := time.Now().Add(-time.Second)
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{deployment("uid-2", "prod", "shop", "api")}))
	first, err := s.GetDeployment(ctx, "uid-2")
	mustNil(t, err)
	if first.CreatedAt.Before(before) || !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("zero times stored as %v / %v", first.CreatedAt, first.UpdatedAt)
	}
	time.Sleep(2 * time.Millisecond)
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{deployment("uid-2", "prod", "shop", "api")}))
	second, _ := s.GetDeployment(ctx, "uid-2")
	if !second.CreatedAt.Equal(first.CreatedAt) || !second.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("re-upsert: created %v→%v, updated %v→%v", first.CreatedAt, second.CreatedAt, first.UpdatedAt, second.UpdatedAt)
	}
	// A zero CreatedAt takes the given UpdatedAt.
	u := deployment("uid-3", "", "", "job")
	u.UpdatedAt = created
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{u}))
	if got, _ := s.GetDeployment(ctx, "uid-3"); !got.CreatedAt.Equal(created) || got.Cluster != "" || got.Namespace != "" {
		t.Errorf("uid-3 = %+v", got)
	}

	// The same id twice in a batch: the later record wins.
	a, b := deployment("uid-4", "prod", "ns", "first"), deployment("uid-4", "prod", "ns", "second")
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{a, deployment("uid-5", "prod", "ns", "other"), b}))
	if got, _ := s.GetDeployment(ctx, "uid-4"); got.Name != "second" || !bytes.Equal(got.JSON, b.JSON) {
		t.Errorf("duplicate in batch: %+v", got)
	}
	n, err := s.CountDeployments(ctx)
	mustNil(t, err)
	if n != 5 {
		t.Errorf("CountDeployments = %d, want 5", n)
	}
	mustNil(t, s.UpsertDeployments(ctx, nil))

	// Not found names the id; delete removes exactly one.
	_, err = s.GetDeployment(ctx, "nope")
	mustIs(t, err, ErrNotFound)
	if !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error %q does not name the deployment", err)
	}
	mustNil(t, s.DeleteDeployment(ctx, "uid-5"))
	err = s.DeleteDeployment(ctx, "uid-5")
	mustIs(t, err, ErrNotFound)
	if !strings.Contains(err.Error(), `"uid-5"`) {
		t.Errorf("error %q does not name the deployment", err)
	}
	_, err = s.GetDeployment(ctx, "uid-5")
	mustIs(t, err, ErrNotFound)
	if n, _ := s.CountDeployments(ctx); n != 4 {
		t.Errorf("after delete: %d deployments, want 4", n)
	}
}

// incompressible returns n bytes of hex that PostgreSQL cannot shrink to fit
// an oversized index entry.
func incompressible(seed string, n int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte(seed))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:n]
}

func testDeploymentValidation(t *testing.T, s *Store) {
	valid := deployment("v", "c", "ns", "n")
	mod := func(f func(d *DeploymentRecord)) DeploymentRecord {
		d := valid
		f(&d)
		return d
	}
	for name, d := range map[string]DeploymentRecord{
		"empty id":         mod(func(d *DeploymentRecord) { d.ID = "" }),
		"empty name":       mod(func(d *DeploymentRecord) { d.Name = "" }),
		"empty source":     mod(func(d *DeploymentRecord) { d.Source = "" }),
		"NUL in namespace": mod(func(d *DeploymentRecord) { d.Namespace = "a\x00b" }),
		"bad UTF-8 kind":   mod(func(d *DeploymentRecord) { d.Kind = "a\xffb" }),
		"long cluster":     mod(func(d *DeploymentRecord) { d.Cluster = strings.Repeat("c", maxKeyLen+1) }),
		"long location": mod(func(d *DeploymentRecord) {
			d.Cluster, d.Namespace, d.Name = incompressible("c", 700), incompressible("n", 700), incompressible("m", 700)
		}),
		"no JSON":      mod(func(d *DeploymentRecord) { d.JSON = nil }),
		"invalid JSON": mod(func(d *DeploymentRecord) { d.JSON = []byte(`{"a":`) }),
		"huge JSON":    mod(func(d *DeploymentRecord) { d.JSON = []byte(`"` + strings.Repeat("x", maxDocLen) + `"`) }),
		"year 3000":    mod(func(d *DeploymentRecord) { d.UpdatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }),
	} {
		if err := s.UpsertDeployments(ctx, []DeploymentRecord{d}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	// One bad record in a batch writes nothing, and the error names it.
	err := s.UpsertDeployments(ctx, []DeploymentRecord{deployment("a", "c", "ns", "a"), deployment("b", "c", "ns", "b"),
		mod(func(d *DeploymentRecord) { d.JSON = []byte("{") })})
	mustIs(t, err, ErrInvalid)
	if !strings.Contains(err.Error(), "deployment 3 of 3") {
		t.Errorf("error %q does not name the record", err)
	}
	if n, _ := s.CountDeployments(ctx); n != 0 {
		t.Errorf("%d invalid deployments stored", n)
	}

	// The longest accepted values are stored and indexed on both backends.
	long := deployment(incompressible("id", 48), incompressible("c", 1000), incompressible("n", 500), incompressible("m", 500))
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{long}))
	got, total, err := s.ListDeployments(ctx, DeploymentQuery{Cluster: long.Cluster, Namespace: long.Namespace, Name: long.Name})
	mustNil(t, err)
	if total != 1 || got[0].ID != long.ID || got[0].Cluster != long.Cluster {
		t.Errorf("long location: %d found", total)
	}
	one := deployment(incompressible("x", maxKeyLen), "", "", "n")
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{one}))

	// Queries are checked like records.
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Text: "a\x00"})
	mustIs(t, err, ErrInvalid)
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Cluster: strings.Repeat("c", maxKeyLen+1)})
	mustIs(t, err, ErrInvalid)
	for _, sort := range []string{"size", "-", "--name", "Name", "updated_at"} {
		_, _, err = s.ListDeployments(ctx, DeploymentQuery{Sort: sort})
		mustIs(t, err, ErrInvalid)
	}
	_, _, err = s.ListDeployments(ctx, DeploymentQuery{Offset: -1})
	mustIs(t, err, ErrInvalid)
}

// deploymentFixture stores a varied set of deployments: ids do not follow
// names, namespaces and names mix cases and non-ASCII letters, and update
// times pair up so ties show.
func deploymentFixture(t *testing.T, s *Store) []DeploymentRecord {
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"web", "api", "Worker", "db_1", "cache%", "éclair"}
	var all []DeploymentRecord
	for i := range 24 {
		d := deployment(fmt.Sprintf("id-%02d", (i*5)%24),
			[]string{"prod", "staging", "dev"}[i%3],
			[]string{"default", "kube-system", "Payments", "zeta"}[(i/3)%4],
			fmt.Sprintf("%s-%d", names[i%6], i/6))
		d.Kind = []string{"Deployment", "DaemonSet", "StatefulSet"}[(i/2)%3]
		if i%2 == 1 {
			d.Source = "sensor"
		}
		d.CreatedAt = base
		d.UpdatedAt = base.Add(time.Duration((i*7)%12) * time.Minute)
		all = append(all, d)
	}
	mustNil(t, s.UpsertDeployments(ctx, all))
	return all
}

// sortedIDs orders the fixture as DeploymentQuery.Sort documents, in Go.
func sortedIDs(all []DeploymentRecord, sort string) string {
	key := func(d DeploymentRecord) []string {
		switch strings.TrimPrefix(sort, "-") {
		case "namespace":
			return []string{d.Namespace, d.Name, d.Cluster, d.ID}
		case "cluster":
			return []string{d.Cluster, d.Namespace, d.Name, d.ID}
		case "updated":
			return []string{fmt.Sprintf("%020d", d.UpdatedAt.UnixNano()), d.ID}
		}
		return []string{d.Name, d.Namespace, d.Cluster, d.ID}
	}
	ds := slices.Clone(all)
	slices.SortFunc(ds, func(a, b DeploymentRecord) int {
		c := slices.Compare(key(a), key(b))
		if strings.HasPrefix(sort, "-") {
			return -c
		}
		return c
	})
	return deploymentIDs(ds)
}

func testDeploymentFilters(t *testing.T, s *Store) {
	all := deploymentFixture(t, s)
	for _, c := range []struct {
		name string
		q    DeploymentQuery
		keep func(d DeploymentRecord) bool
	}{
		{"none", DeploymentQuery{}, func(DeploymentRecord) bool { return true }},
		{"cluster", DeploymentQuery{Cluster: "staging"}, func(d DeploymentRecord) bool { return d.Cluster == "staging" }},
		{"namespace", DeploymentQuery{Namespace: "Payments"}, func(d DeploymentRecord) bool { return d.Namespace == "Payments" }},
		{"namespace is exact", DeploymentQuery{Namespace: "payments"}, func(DeploymentRecord) bool { return false }},
		{"name", DeploymentQuery{Name: "web-2"}, func(d DeploymentRecord) bool { return d.Name == "web-2" }},
		{"kind", DeploymentQuery{Kind: "DaemonSet"}, func(d DeploymentRecord) bool { return d.Kind == "DaemonSet" }},
		{"source", DeploymentQuery{Source: "sensor"}, func(d DeploymentRecord) bool { return d.Source == "sensor" }},
		{"cluster and namespace", DeploymentQuery{Cluster: "prod", Namespace: "zeta"}, func(d DeploymentRecord) bool {
			return d.Cluster == "prod" && d.Namespace == "zeta"
		}},
		{"location", DeploymentQuery{Cluster: "dev", Namespace: "default", Name: "db_1-0"}, func(d DeploymentRecord) bool {
			return d.Cluster == "dev" && d.Namespace == "default" && d.Name == "db_1-0"
		}},
		{"text, any case", DeploymentQuery{Text: "WORKER"}, func(d DeploymentRecord) bool { return strings.HasPrefix(d.Name, "Worker") }},
		{"text matches namespace", DeploymentQuery{Text: "kube-"}, func(d DeploymentRecord) bool { return d.Namespace == "kube-system" }},
		{"text matches cluster", DeploymentQuery{Text: "Stag"}, func(d DeploymentRecord) bool { return d.Cluster == "staging" }},
		{"text folds non-ASCII", DeploymentQuery{Text: "ÉCLAIR"}, func(d DeploymentRecord) bool { return strings.HasPrefix(d.Name, "éclair") }},
		{"text % is literal", DeploymentQuery{Text: "e%-"}, func(d DeploymentRecord) bool { return strings.HasPrefix(d.Name, "cache%") }},
		{"text _ is literal", DeploymentQuery{Text: "e_"}, func(DeploymentRecord) bool { return false }},
		{"text _ matches itself", DeploymentQuery{Text: "B_1"}, func(d DeploymentRecord) bool { return strings.HasPrefix(d.Name, "db_1") }},
		{"text and filter", DeploymentQuery{Text: "web", Source: "api"}, func(d DeploymentRecord) bool {
			return strings.HasPrefix(d.Name, "web") && d.Source == "api"
		}},
	} {
		got, total, err := s.ListDeployments(ctx, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var keep []DeploymentRecord
		for _, d := range all {
			if c.keep(d) {
				keep = append(keep, d)
			}
		}
		want := sortedIDs(keep, "name")
		if deploymentIDs(got) != want || total != len(keep) {
			t.Errorf("%s: got %s (total %d), want %s (total %d)", c.name, deploymentIDs(got), total, want, len(keep))
		}
	}
	// Listed records carry every field.
	got, _, err := s.ListDeployments(ctx, DeploymentQuery{Name: all[7].Name, Cluster: all[7].Cluster})
	mustNil(t, err)
	if len(got) != 1 || !sameDeployment(got[0], all[7]) {
		t.Errorf("listed %+v, want %+v", got, all[7])
	}
}

func testDeploymentSortAndPages(t *testing.T, s *Store) {
	all := deploymentFixture(t, s)
	list := func(q DeploymentQuery) (string, int) {
		t.Helper()
		got, total, err := s.ListDeployments(ctx, q)
		mustNil(t, err)
		return deploymentIDs(got), total
	}
	for _, sort := range []string{"name", "-name", "namespace", "-namespace", "cluster", "-cluster", "updated", "-updated"} {
		if got, total := list(DeploymentQuery{Sort: sort}); got != sortedIDs(all, sort) || total != len(all) {
			t.Errorf("sort %s: %s (total %d), want %s", sort, got, total, sortedIDs(all, sort))
		}
	}
	if got, _ := list(DeploymentQuery{}); got != sortedIDs(all, "name") {
		t.Errorf("default sort: %s", got)
	}
	// Code-point order, not the database locale's: "Payments" < "default"
	// and "Worker" < "api" < "éclair".
	first := func(sort string) DeploymentRecord {
		t.Helper()
		got, _, err := s.ListDeployments(ctx, DeploymentQuery{Sort: sort, Limit: 1})
		mustNil(t, err)
		return got[0]
	}
	if d := first("namespace"); d.Namespace != "Payments" {
		t.Errorf("namespace sort starts with %q", d.Namespace)
	}
	if d := first("name"); d.Name != "Worker-0" {
		t.Errorf("name sort starts with %q", d.Name)
	}
	if d := first("-name"); d.Name != "éclair-3" {
		t.Errorf("-name sort starts with %q", d.Name)
	}

	// The test cluster's locale is C, so the order above would hold on
	// PostgreSQL even with the database's collation: check that the columns
	// carry their own, which production databases with another locale need.
	if s.Backend() == "postgres" {
		rows, err := s.direct().query(ctx, `SELECT column_name, COALESCE(collation_name, '') FROM information_schema.columns
			WHERE table_name = 'deployments' AND column_name IN ('id', 'cluster', 'namespace', 'name', 'kind', 'source')`)
		mustNil(t, err)
		defer rows.Close()
		n := 0
		for rows.Next() {
			var col, coll string
			mustNil(t, rows.Scan(&col, &coll))
			if coll != "C" {
				t.Errorf("column %s has collation %q, want C", col, coll)
			}
			n++
		}
		mustNil(t, rows.Err())
		if n != 6 {
			t.Errorf("found %d of 6 key columns", n)
		}
	}

	// Pages cover the result exactly once, and total is the match count.
	var pages []string
	for off := 0; off < len(all); off += 5 {
		got, total := list(DeploymentQuery{Sort: "-updated", Offset: off, Limit: 5})
		if total != len(all) {
			t.Errorf("page at %d: total %d", off, total)
		}
		pages = append(pages, got)
	}
	if strings.Join(pages, ",") != sortedIDs(all, "-updated") {
		t.Errorf("pages: %v", pages)
	}
	var prod []DeploymentRecord
	for _, d := range all {
		if d.Cluster == "prod" {
			prod = append(prod, d)
		}
	}
	wantProd := strings.Split(sortedIDs(prod, "cluster"), ",")
	if got, total := list(DeploymentQuery{Cluster: "prod", Sort: "cluster", Offset: 6, Limit: 5}); got != strings.Join(wantProd[6:], ",") || total != len(prod) {
		t.Errorf("last filtered page: %s total %d", got, total)
	}
	if got, total := list(DeploymentQuery{Offset: 50, Limit: 5}); got != "" || total != len(all) {
		t.Errorf("past the end: %s total %d", got, total)
	}
	wantAll := strings.Split(sortedIDs(all, "name"), ",")
	if got, _ := list(DeploymentQuery{Offset: 20}); got != strings.Join(wantAll[20:], ",") {
		t.Errorf("offset without limit: %s", got)
	}
}

func testDeploymentBytesRoundTrip(t *testing.T, s *Store) {
	big := bytes.Repeat([]byte(`{"k":"v\u00e9\n"},`), 200000) // 3.6 MB
	docs := [][]byte{
		[]byte(`{ "b" : 1,   "a":[ 1.50, 2e3 ] }`),
		[]byte("\n\t{\"name\":\"caf\\u00e9 ☕\",\"x\":null}\r\n"),
		[]byte(`"just a string"`),
		[]byte(`{"bin":"\u0000\u00ff"}`),
		append(append([]byte("["), big...), []byte(`{}]`)...),
	}
	var recs []DeploymentRecord
	for i, doc := range docs {
		d := deployment(fmt.Sprintf("j%d", i), "c", "ns", fmt.Sprintf("n%d", i))
		d.JSON = doc
		recs = append(recs, d)
	}
	mustNil(t, s.UpsertDeployments(ctx, recs))
	for i, doc := range docs {
		got, err := s.GetDeployment(ctx, recs[i].ID)
		mustNil(t, err)
		if !bytes.Equal(got.JSON, doc) {
			t.Errorf("get doc %d changed: %d bytes in, %d out", i, len(doc), len(got.JSON))
		}
	}
	listed, _, err := s.ListDeployments(ctx, DeploymentQuery{})
	mustNil(t, err)
	seen := 0
	mustNil(t, s.EachDeployment(ctx, func(d DeploymentRecord) error {
		i := int(d.ID[1] - '0')
		if !bytes.Equal(d.JSON, docs[i]) || !bytes.Equal(listed[i].JSON, docs[i]) {
			t.Errorf("doc %d changed in list or iteration", i)
		}
		seen++
		return nil
	}))
	if seen != len(docs) {
		t.Errorf("iterated %d of %d", seen, len(docs))
	}
	// A writer reusing its buffer must not change what was stored.
	buf := []byte(`{"v":1}`)
	d := deployment("reuse", "c", "ns", "reuse")
	d.JSON = buf
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{d}))
	buf[5] = '2'
	if got, _ := s.GetDeployment(ctx, "reuse"); string(got.JSON) != `{"v":1}` {
		t.Errorf("stored doc follows the caller's buffer: %s", got.JSON)
	}
}

// testDeploymentBatch writes 5,000 deployments in one call (many statements,
// one transaction), replaces them all, and reads them back in several ways.
func testDeploymentBatch(t *testing.T, s *Store) {
	const n = 5000
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	batch := make([]DeploymentRecord, n)
	for i := range batch {
		d := deployment(fmt.Sprintf("uid-%05d", (i*7919)%n), fmt.Sprintf("cluster-%d", i%4), fmt.Sprintf("ns-%02d", i%50), fmt.Sprintf("app-%05d", i))
		d.JSON = fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, strings.Repeat("p", 200+i%300))
		d.CreatedAt = created
		batch[i] = d
	}
	// The whole batch is checked before anything is written.
	batch[n-1].Source = ""
	err := s.UpsertDeployments(ctx, batch)
	mustIs(t, err, ErrInvalid)
	if !strings.Contains(err.Error(), fmt.Sprintf("deployment %d of %d", n, n)) {
		t.Errorf("error %q does not name the record", err)
	}
	if c, _ := s.CountDeployments(ctx); c != 0 {
		t.Errorf("failed batch left %d deployments", c)
	}
	batch[n-1].Source = "api"
	// A document larger than a statement's byte budget gets a statement of
	// its own.
	batch[n-2].JSON = []byte(`"` + strings.Repeat("x", deploymentChunkBytes) + `"`)
	batch[n-2].Namespace = "big"
	mustNil(t, s.UpsertDeployments(ctx, batch))
	if c, err := s.CountDeployments(ctx); err != nil || c != n {
		t.Fatalf("CountDeployments = %d, %v; want %d", c, err, n)
	}
	got, err := s.GetDeployment(ctx, batch[n-2].ID)
	mustNil(t, err)
	if !bytes.Equal(got.JSON, batch[n-2].JSON) || got.Namespace != "big" {
		t.Errorf("oversized-chunk record stored as %d bytes in %q", len(got.JSON), got.Namespace)
	}

	ids := eachIDs(t, s)
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Errorf("EachDeployment: %d ids, sorted %v", len(ids), slices.IsSorted(ids))
	}
	page, total, err := s.ListDeployments(ctx, DeploymentQuery{Namespace: "ns-07", Sort: "name", Limit: 10})
	mustNil(t, err)
	if total != n/50 || len(page) != 10 || page[0].Name != "app-00007" || page[9].Name != "app-00457" {
		t.Errorf("ns-07: total %d, page %s…", total, page[0].Name)
	}

	// Replace them all: contents change, creation times stay.
	for i := range batch {
		batch[i].JSON = fmt.Appendf(nil, `{"i":%d,"v":2}`, i)
		batch[i].CreatedAt = time.Time{}
		batch[i].Source = "sensor"
	}
	mustNil(t, s.UpsertDeployments(ctx, batch))
	if c, _ := s.CountDeployments(ctx); c != n {
		t.Errorf("after replacing: %d deployments", c)
	}
	seen := 0
	mustNil(t, s.EachDeployment(ctx, func(d DeploymentRecord) error {
		if !d.CreatedAt.Equal(created) || d.Source != "sensor" || !bytes.HasSuffix(d.JSON, []byte(`"v":2}`)) {
			t.Fatalf("%s after replace: created %v source %s doc %.40s", d.ID, d.CreatedAt, d.Source, d.JSON)
		}
		seen++
		return nil
	}))
	if seen != n {
		t.Errorf("iterated %d of %d", seen, n)
	}
}

func testDeploymentEach(t *testing.T, s *Store) {
	calls := 0
	mustNil(t, s.EachDeployment(ctx, func(DeploymentRecord) error { calls++; return nil }))
	if calls != 0 {
		t.Errorf("empty store: %d calls", calls)
	}

	// 600 deployments span pages of 256; a mix of sizes exercises the byte
	// budget of small pages.
	var recs []DeploymentRecord
	for i := range 600 {
		d := deployment(fmt.Sprintf("e%04d", i), "c", "ns", fmt.Sprintf("n%d", i))
		if i%17 == 0 {
			d.JSON = []byte(`"` + strings.Repeat("b", 3000) + `"`)
		}
		recs = append(recs, d)
	}
	mustNil(t, s.UpsertDeployments(ctx, recs))
	want := strings.Split(deploymentIDs(recs), ",")
	if got := eachIDs(t, s); !slices.Equal(got, want) {
		t.Errorf("EachDeployment: %d ids, want %d in id order", len(got), len(want))
	}
	for _, budget := range []struct{ rows, bytes int }{{7, 1000}, {1, 1}, {600, 1 << 20}, {1000, 3000}} {
		var got []string
		mustNil(t, s.eachDeployment(ctx, budget.rows, budget.bytes, func(d DeploymentRecord) error {
			got = append(got, d.ID)
			return nil
		}))
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d rows / %d bytes: %d ids, want %d in id order", budget.rows, budget.bytes, len(got), len(want))
		}
	}

	// The callback's error stops the iteration at once and comes back as is.
	stop := errors.New("stop")
	calls = 0
	err := s.EachDeployment(ctx, func(DeploymentRecord) error {
		calls++
		if calls == 300 {
			return fmt.Errorf("enough: %w", stop)
		}
		return nil
	})
	mustIs(t, err, stop)
	if calls != 300 {
		t.Errorf("%d calls after the error at 300", calls)
	}

	// The callback may write to the store: nothing is held while it runs.
	calls = 0
	mustNil(t, s.EachDeployment(ctx, func(d DeploymentRecord) error {
		calls++
		if calls%2 == 0 {
			return s.DeleteDeployment(ctx, d.ID)
		}
		d.Name += "-seen"
		return s.UpsertDeployments(ctx, []DeploymentRecord{d})
	}))
	if n, _ := s.CountDeployments(ctx); calls != 600 || n != 300 {
		t.Errorf("writing callback: %d calls, %d left, want 600 and 300", calls, n)
	}
	if _, total, _ := s.ListDeployments(ctx, DeploymentQuery{Text: "-seen"}); total != 300 {
		t.Errorf("%d renamed, want 300", total)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.EachDeployment(cctx, func(DeploymentRecord) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled iteration: %v", err)
	}
}

func testDeploymentInTx(t *testing.T, s *Store) {
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{deployment("keep", "c", "ns", "keep")}))
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *Tx) error {
		mustNil(t, tx.UpsertDeployments(ctx, []DeploymentRecord{deployment("new", "c", "ns", "new")}))
		mustNil(t, tx.DeleteDeployment(ctx, "keep"))
		mustNil(t, tx.AddAlerts(ctx, []AlertRecord{alert("a1")}))
		// Reads inside the transaction see its writes.
		if _, err := tx.GetDeployment(ctx, "new"); err != nil {
			t.Errorf("GetDeployment in tx: %v", err)
		}
		if _, err := tx.GetDeployment(ctx, "keep"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted in tx, still read: %v", err)
		}
		mustIs(t, tx.DeleteDeployment(ctx, "keep"), ErrNotFound)
		return boom
	})
	mustIs(t, err, boom)
	if _, err := s.GetDeployment(ctx, "new"); !errors.Is(err, ErrNotFound) {
		t.Errorf("upsert survived rollback: %v", err)
	}
	if _, err := s.GetDeployment(ctx, "keep"); err != nil {
		t.Errorf("delete survived rollback: %v", err)
	}
	if _, err := s.GetAlert(ctx, "a1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("alert survived rollback: %v", err)
	}

	// Committed: the alert and the deployment together.
	mustNil(t, s.InTx(ctx, func(tx *Tx) error {
		if err := tx.AddAlerts(ctx, []AlertRecord{alert("a2")}); err != nil {
			return err
		}
		return tx.UpsertDeployments(ctx, []DeploymentRecord{deployment("new", "c", "ns", "new")})
	}))
	if _, err := s.GetDeployment(ctx, "new"); err != nil {
		t.Errorf("committed deployment: %v", err)
	}
	if n, _ := s.CountDeployments(ctx); n != 2 {
		t.Errorf("%d deployments, want 2", n)
	}
}

// testDeploymentsMigration upgrades a database at version 1 holding the
// stop-gap inventory's settings: they go, other settings stay.
func testDeploymentsMigration(t *testing.T, b backend) {
	dsn, dir := b.fresh(t)
	var (
		s   *Store
		err error
	)
	if dsn == "" {
		s, err = openSQLite(ctx, dir, testLogger(t))
	} else {
		s, err = openPostgres(ctx, dsn, testLogger(t))
	}
	mustNil(t, err)
	defer s.Close()
	ms, err := loadMigrations(migrationFiles)
	mustNil(t, err)
	mustNil(t, s.migrate(ctx, ms[:1]))
	for _, k := range []string{"inventory/index", "inventory/deployment/a", "inventory/deployment/b", "inventory/other", "retention.days"} {
		mustNil(t, s.SetSetting(ctx, k, "x"))
	}
	mustNil(t, s.migrate(ctx, ms))
	for k, want := range map[string]bool{"inventory/index": false, "inventory/deployment/a": false, "inventory/deployment/b": false,
		"inventory/other": true, "retention.days": true} {
		if _, ok, err := s.GetSetting(ctx, k); err != nil || ok != want {
			t.Errorf("setting %s after migration: present %v (%v), want %v", k, ok, err, want)
		}
	}
	mustNil(t, s.UpsertDeployments(ctx, []DeploymentRecord{deployment("d", "c", "ns", "n")}))
}
