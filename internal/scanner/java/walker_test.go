package java

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// TestWalkLayer runs the analyzer inside the real layer walker, with the war
// spooled to the walker's temporary directory and read through it.
func TestWalkLayer(t *testing.T) {
	war := fixture(t, "shop.war", libs(t, "WEB-INF/lib/", zip.Deflate)[:2]...)
	lone := fixture(t, "log4j-core-2.14.1.jar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"usr/local/tomcat/webapps/shop.war", war},
		{"opt/lib/log4j-core-2.14.1.jar", lone},
		{"opt/lib/notes.txt", []byte("not an archive")},
		{"opt/lib/corrupt-1.0.jar", []byte("PK\x03\x04 but nothing else")},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	reg, err := layer.NewRegistry(New(DefaultLimits()))
	if err != nil {
		t.Fatal(err)
	}
	w := layer.NewWalker(reg, layer.WalkerOptions{TempDir: t.TempDir(), Limits: layer.Limits{MemThreshold: 1024}})
	res, err := w.Walk(context.Background(), "sha256:l1", &buf)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, comps := range res.Files {
		for _, c := range comps {
			if c.Ecosystem != catalog.Maven || c.Layer != "sha256:l1" {
				t.Errorf("component %+v", c)
			}
			got = append(got, c.Path+" "+c.Name+"@"+c.Version)
		}
	}
	slices.Sort(got)
	want := []string{
		"opt/lib/log4j-core-2.14.1.jar org.apache.logging.log4j:log4j-core@2.14.1",
		"usr/local/tomcat/webapps/shop.war com.example:shop@2.0.0",
		"usr/local/tomcat/webapps/shop.war!/WEB-INF/lib/log4j-core-2.14.1.jar org.apache.logging.log4j:log4j-core@2.14.1",
		"usr/local/tomcat/webapps/shop.war!/WEB-INF/lib/spring-beans-5.3.17.jar org.springframework:spring-beans@5.3.17",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "opt/lib/corrupt-1.0.jar") {
		t.Errorf("warnings = %q, want one about the corrupt jar", res.Warnings)
	}
}
