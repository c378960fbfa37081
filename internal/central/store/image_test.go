package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func integration(id, name string) ImageIntegrationRecord {
	return ImageIntegrationRecord{ID: id, Name: name, Type: "docker",
		JSON: fmt.Appendf(nil, `{"id":%q,"name":%q,"password":"v1:c2VhbGVk"}`, id, name)}
}

func testImageIntegrationCRUD(t *testing.T, s *Store) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	rec := integration("i1", "Internal registry")
	rec.CreatedAt = created
	mustNil(t, s.CreateImageIntegration(ctx, rec))
	got, err := s.GetImageIntegration(ctx, "i1")
	mustNil(t, err)
	if got.Name != rec.Name || got.Type != "docker" || !bytes.Equal(got.JSON, rec.JSON) || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("GetImageIntegration = %+v", got)
	}
	mustIs(t, s.CreateImageIntegration(ctx, integration("i1", "other")), ErrConflict)
	err = s.CreateImageIntegration(ctx, integration("i2", "INTERNAL REGISTRY"))
	mustIs(t, err, ErrConflict)
	if !strings.Contains(err.Error(), `"i1"`) {
		t.Errorf("name conflict %q does not name the integration holding the name", err)
	}
	mustNil(t, s.CreateImageIntegration(ctx, integration("i2", "apple")))
	mustNil(t, s.CreateImageIntegration(ctx, integration("i3", "Zebra")))
	list, err := s.ListImageIntegrations(ctx)
	mustNil(t, err)
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if want := []string{"apple", "Internal registry", "Zebra"}; !slices.Equal(names, want) {
		t.Errorf("ListImageIntegrations = %v, want %v", names, want)
	}

	upd := integration("i1", "internal registry (renamed)")
	upd.Type = "quay"
	upd.UpdatedAt = created.Add(time.Hour)
	mustNil(t, s.UpdateImageIntegration(ctx, upd))
	got, err = s.GetImageIntegration(ctx, "i1")
	mustNil(t, err)
	if got.Name != upd.Name || got.Type != "quay" || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("after update = %+v", got)
	}
	mustIs(t, s.UpdateImageIntegration(ctx, integration("i1", "Apple")), ErrConflict)
	mustIs(t, s.UpdateImageIntegration(ctx, integration("nope", "x")), ErrNotFound)
	// Renaming to its own name in another case is no conflict.
	mustNil(t, s.UpdateImageIntegration(ctx, integration("i2", "APPLE")))

	mustNil(t, s.DeleteImageIntegration(ctx, "i2"))
	mustIs(t, s.DeleteImageIntegration(ctx, "i2"), ErrNotFound)
	_, err = s.GetImageIntegration(ctx, "i2")
	mustIs(t, err, ErrNotFound)
	// The name is free again.
	mustNil(t, s.CreateImageIntegration(ctx, integration("i4", "apple")))

	for name, bad := range map[string]ImageIntegrationRecord{
		"no id":    {Name: "x", Type: "docker", JSON: []byte(`{}`)},
		"no name":  {ID: "x", Type: "docker", JSON: []byte(`{}`)},
		"no type":  {ID: "x", Name: "x", JSON: []byte(`{}`)},
		"bad json": {ID: "x", Name: "x", Type: "docker", JSON: []byte(`{`)},
		"nul name": {ID: "x", Name: "a\x00b", Type: "docker", JSON: []byte(`{}`)},
	} {
		if err := s.CreateImageIntegration(ctx, bad); err == nil {
			t.Errorf("%s: created", name)
		} else {
			mustIs(t, err, ErrInvalid)
		}
	}
}

// image makes a record for digest d named name, with n critical findings.
func image(d, name string, critical int, scanned time.Time) ImageRecord {
	return ImageRecord{
		Digest: d, FullName: name, Registry: "reg.example.com", Remote: "team/app", Tag: "1",
		ScanTime: scanned, VulnDBVersion: "v1", Components: 3, Vulns: critical + 1, Critical: critical, Low: 1, Fixable: critical,
		JSON: fmt.Appendf(nil, `{"digest":%q,"fullName":%q}`, d, name),
	}
}

func testImageUpsertAndGet(t *testing.T, s *Store) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 999, time.UTC)
	rec := image("sha256:aa", "reg.example.com/team/app:1", 2, t0)
	rec.CreatedAt = t0
	mustNil(t, s.UpsertImage(ctx, rec, "reg.example.com/team/app:1"))
	got, err := s.GetImage(ctx, "sha256:aa")
	mustNil(t, err)
	if got.FullName != rec.FullName || got.Critical != 2 || got.Vulns != 3 || got.Fixable != 2 || got.Components != 3 || got.Low != 1 ||
		got.VulnDBVersion != "v1" || !got.ScanTime.Equal(t0) || !bytes.Equal(got.JSON, rec.JSON) || got.Tag != "1" || got.Remote != "team/app" {
		t.Errorf("GetImage = %+v", got)
	}
	byName, err := s.GetImageByName(ctx, "reg.example.com/team/app:1")
	mustNil(t, err)
	if byName.Digest != "sha256:aa" || !bytes.Equal(byName.JSON, rec.JSON) {
		t.Errorf("GetImageByName = %+v", byName)
	}
	_, err = s.GetImage(ctx, "sha256:none")
	mustIs(t, err, ErrNotFound)
	_, err = s.GetImageByName(ctx, "reg.example.com/team/app:2")
	mustIs(t, err, ErrNotFound)

	// A rescan replaces the document and keeps the creation time.
	t1 := t0.Add(time.Hour)
	again := image("sha256:aa", "reg.example.com/team/app:1", 5, t1)
	again.VulnDBVersion = "v2"
	again.CreatedAt = t1
	mustNil(t, s.UpsertImage(ctx, again))
	got, err = s.GetImage(ctx, "sha256:aa")
	mustNil(t, err)
	if got.Critical != 5 || got.VulnDBVersion != "v2" || !got.ScanTime.Equal(t1) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after rescan = %+v", got)
	}

	// The tag moves to a new digest: the name follows, both digests stay.
	mustNil(t, s.UpsertImage(ctx, image("sha256:bb", "reg.example.com/team/app:1", 0, t1), "reg.example.com/team/app:1", "reg.example.com/team/app@sha256:bb"))
	byName, err = s.GetImageByName(ctx, "reg.example.com/team/app:1")
	mustNil(t, err)
	if byName.Digest != "sha256:bb" {
		t.Errorf("moved tag resolves to %s", byName.Digest)
	}
	names, err := s.ImageNames(ctx)
	mustNil(t, err)
	if len(names) != 2 || names[0].FullName != "reg.example.com/team/app:1" || names[0].Digest != "sha256:bb" || names[1].Digest != "sha256:bb" {
		t.Errorf("ImageNames = %+v", names)
	}
	n, err := s.CountImages(ctx)
	mustNil(t, err)
	if n != 2 {
		t.Errorf("CountImages = %d", n)
	}

	for name, bad := range map[string]ImageRecord{
		"no digest":      {FullName: "x", JSON: []byte(`{}`)},
		"no name":        {Digest: "sha256:x", JSON: []byte(`{}`)},
		"no json":        {Digest: "sha256:x", FullName: "x"},
		"negative count": {Digest: "sha256:x", FullName: "x", Critical: -1, JSON: []byte(`{}`)},
	} {
		err := s.UpsertImage(ctx, bad)
		if err == nil {
			t.Errorf("%s: stored", name)
			continue
		}
		mustIs(t, err, ErrInvalid)
	}
	mustIs(t, s.UpsertImage(ctx, image("sha256:cc", "x", 0, t0), ""), ErrInvalid)
	_, err = s.GetImage(ctx, "sha256:cc")
	mustIs(t, err, ErrNotFound)
}

func testImageListSortAndPages(t *testing.T, s *Store) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, spec := range []struct {
		digest, name string
		critical     int
	}{
		{"sha256:03", "docker.io/library/nginx:1.25", 4},
		{"sha256:01", "quay.io/team/api:2", 0},
		{"sha256:02", "ghcr.io/org/worker:latest", 9},
		{"sha256:04", "docker.io/library/alpine:3.19", 4},
	} {
		mustNil(t, s.UpsertImage(ctx, image(spec.digest, spec.name, spec.critical, base.Add(time.Duration(i)*time.Minute))))
	}
	order := func(q ImageQuery) ([]string, int) {
		t.Helper()
		recs, total, err := s.ListImages(ctx, q)
		mustNil(t, err)
		var out []string
		for _, r := range recs {
			if r.JSON != nil {
				t.Errorf("ListImages returned the document of %s", r.Digest)
			}
			out = append(out, r.Digest)
		}
		return out, total
	}
	for _, tc := range []struct {
		q    ImageQuery
		want []string
		tot  int
	}{
		{ImageQuery{}, []string{"sha256:04", "sha256:03", "sha256:02", "sha256:01"}, 4},
		{ImageQuery{Sort: "-name"}, []string{"sha256:01", "sha256:02", "sha256:03", "sha256:04"}, 4},
		{ImageQuery{Sort: "scanTime"}, []string{"sha256:03", "sha256:01", "sha256:02", "sha256:04"}, 4},
		{ImageQuery{Sort: "-scanTime", Limit: 2}, []string{"sha256:04", "sha256:02"}, 4},
		{ImageQuery{Sort: "-critical"}, []string{"sha256:02", "sha256:04", "sha256:03", "sha256:01"}, 4},
		{ImageQuery{Sort: "critical", Offset: 1, Limit: 2}, []string{"sha256:03", "sha256:04"}, 4},
		{ImageQuery{Text: "LIBRARY"}, []string{"sha256:04", "sha256:03"}, 2},
		{ImageQuery{Text: "sha256:02"}, []string{"sha256:02"}, 1},
		{ImageQuery{Text: "100%"}, nil, 0},
		{ImageQuery{Offset: 10}, nil, 4},
	} {
		got, total := order(tc.q)
		if !slices.Equal(got, tc.want) || total != tc.tot {
			t.Errorf("ListImages(%+v) = %v (total %d), want %v (total %d)", tc.q, got, total, tc.want, tc.tot)
		}
	}
	for _, q := range []ImageQuery{{Sort: "size"}, {Sort: "-"}, {Offset: -1}} {
		_, _, err := s.ListImages(ctx, q)
		mustIs(t, err, ErrInvalid)
	}
	var seen []string
	mustNil(t, s.EachImage(ctx, func(r ImageRecord) error {
		if len(r.JSON) == 0 {
			t.Errorf("EachImage gave %s without its document", r.Digest)
		}
		seen = append(seen, r.Digest)
		// Writing while iterating is allowed.
		r.VulnDBVersion = "v9"
		return s.UpsertImage(ctx, r)
	}))
	if want := []string{"sha256:01", "sha256:02", "sha256:03", "sha256:04"}; !slices.Equal(seen, want) {
		t.Errorf("EachImage order %v", seen)
	}
	got, err := s.GetImage(ctx, "sha256:02")
	mustNil(t, err)
	if got.VulnDBVersion != "v9" {
		t.Errorf("write during EachImage lost: %+v", got)
	}
}

func testImageVulnsSeen(t *testing.T, s *Store) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	mark := func(digest string, ids []string, at time.Time) map[string]VulnSeen {
		t.Helper()
		var out map[string]VulnSeen
		mustNil(t, s.InTx(ctx, func(tx *Tx) error {
			var err error
			out, err = tx.MarkVulnsSeen(ctx, digest, ids, at)
			return err
		}))
		return out
	}
	first := mark("sha256:a", []string{"CVE-1", "CVE-2", "CVE-1"}, t0)
	if len(first) != 2 || !first["CVE-1"].InImage.Equal(t0) || !first["CVE-1"].InSystem.Equal(t0) {
		t.Fatalf("first mark = %+v", first)
	}
	// The same image a day later: first-seen times are kept; a new one is new.
	second := mark("sha256:a", []string{"CVE-2", "CVE-3"}, t1)
	if !second["CVE-2"].InImage.Equal(t0) || !second["CVE-3"].InImage.Equal(t1) || !second["CVE-3"].InSystem.Equal(t1) {
		t.Errorf("second mark = %+v", second)
	}
	// Another image: new in the image, known to the system.
	other := mark("sha256:b", []string{"CVE-1", "CVE-9"}, t2)
	if !other["CVE-1"].InImage.Equal(t2) || !other["CVE-1"].InSystem.Equal(t0) || !other["CVE-9"].InSystem.Equal(t2) {
		t.Errorf("other image = %+v", other)
	}
	// Many ids cross the statement chunk.
	var many []string
	for i := range 2*vulnChunk + 7 {
		many = append(many, fmt.Sprintf("GO-2025-%04d", i))
	}
	got := mark("sha256:c", many, t1)
	if len(got) != len(many) || !got[many[len(many)-1]].InImage.Equal(t1) {
		t.Errorf("%d ids marked, %d returned", len(many), len(got))
	}
	if none := mark("sha256:d", nil, t1); len(none) != 0 {
		t.Errorf("no ids: %v", none)
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.MarkVulnsSeen(ctx, "sha256:a", []string{""}, t1)
		return err
	})
	mustIs(t, err, ErrInvalid)
}
