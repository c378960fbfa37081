package java

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

type entry struct {
	name   string
	data   []byte
	method uint16
}

// buildZip writes entries into a zip archive in order.
func buildZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fixture zips testdata/jars/<name>: the directory holds the archive's files.
func fixture(t testing.TB, name string, extra ...entry) []byte {
	t.Helper()
	root := filepath.Join("testdata", "jars", name)
	var entries []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		entries = append(entries, entry{name: filepath.ToSlash(rel), data: b, method: zip.Deflate})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buildZip(t, append(entries, extra...)...)
}

func comp(group, artifact, version, path string) catalog.Component {
	return component(group, artifact, version, path)
}

func analyze(t *testing.T, lim Limits, path string, b []byte) ([]catalog.Component, error) {
	t.Helper()
	a := New(lim)
	if !a.Match(path, 0o644, int64(len(b))) {
		t.Fatalf("Match(%s) = false", path)
	}
	return a.Analyze(context.Background(), layer.File{Path: path, Mode: 0o644, Size: int64(len(b)), Content: bytes.NewReader(b)})
}

func TestSingleJar(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []catalog.Component
	}{
		{"log4j-core-2.14.1.jar", []catalog.Component{comp("org.apache.logging.log4j", "log4j-core", "2.14.1", "opt/app/lib/log4j-core-2.14.1.jar")}},
		// Gradle-built Spring jars have only a manifest.
		{"spring-beans-5.3.17.jar", []catalog.Component{comp("org.springframework", "spring-beans", "5.3.17", "opt/app/lib/spring-beans-5.3.17.jar")}},
		// The group comes from the OSGi symbolic name.
		{"commons-lang3-3.12.0.jar", []catalog.Component{comp("org.apache.commons", "commons-lang3", "3.12.0", "opt/app/lib/commons-lang3-3.12.0.jar")}},
		// Nothing but the file name.
		{"vendor-sdk-4.2.0.jar", []catalog.Component{comp("", "vendor-sdk", "4.2.0", "opt/app/lib/vendor-sdk-4.2.0.jar")}},
		// A shaded jar: the shaded artifacts, and the jar itself from its manifest.
		{"billing-service-1.3.0.jar", []catalog.Component{
			comp("com.example.billing", "billing-service", "1.3.0", "opt/app/lib/billing-service-1.3.0.jar"),
			comp("com.fasterxml.jackson.core", "jackson-databind", "2.9.10.1", "opt/app/lib/billing-service-1.3.0.jar"),
			comp("org.yaml", "snakeyaml", "1.33", "opt/app/lib/billing-service-1.3.0.jar"),
		}},
		// An unresolved ${revision} in pom.properties falls back to the manifest.
		{"app.jar", []catalog.Component{comp("", "app", "0.4.1", "opt/app/lib/app.jar")}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := analyze(t, DefaultLimits(), "opt/app/lib/"+tc.file, fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct{ group, artifact, version, want string }{
		{"org.apache.logging.log4j", "log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
		{"", "vendor-sdk", "4.2.0", "pkg:maven/vendor-sdk@4.2.0"},
		{"g", "a", "1.0+build 1", "pkg:maven/g/a@1.0%2Bbuild%201"},
	} {
		if got := PURL(tc.group, tc.artifact, tc.version); got != tc.want {
			t.Errorf("PURL(%q, %q, %q) = %q, want %q", tc.group, tc.artifact, tc.version, got, tc.want)
		}
	}
}

// libs are the jars a web application bundles, deflated as in a war.
func libs(t *testing.T, dir string, method uint16) []entry {
	var out []entry
	for _, name := range []string{"log4j-core-2.14.1.jar", "spring-beans-5.3.17.jar", "commons-lang3-3.12.0.jar", "vendor-sdk-4.2.0.jar"} {
		out = append(out, entry{name: dir + name, data: fixture(t, name), method: method})
	}
	return out
}

func TestWar(t *testing.T) {
	war := fixture(t, "shop.war", libs(t, "WEB-INF/lib/", zip.Deflate)...)
	got, err := analyze(t, DefaultLimits(), "usr/local/tomcat/webapps/shop.war", war)
	if err != nil {
		t.Fatal(err)
	}
	const at = "usr/local/tomcat/webapps/shop.war"
	want := []catalog.Component{
		comp("com.example", "shop", "2.0.0", at),
		comp("org.apache.commons", "commons-lang3", "3.12.0", at+"!/WEB-INF/lib/commons-lang3-3.12.0.jar"),
		comp("org.apache.logging.log4j", "log4j-core", "2.14.1", at+"!/WEB-INF/lib/log4j-core-2.14.1.jar"),
		comp("org.springframework", "spring-beans", "5.3.17", at+"!/WEB-INF/lib/spring-beans-5.3.17.jar"),
		comp("", "vendor-sdk", "4.2.0", at+"!/WEB-INF/lib/vendor-sdk-4.2.0.jar"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestSpringBootJar(t *testing.T) {
	// Spring Boot stores nested jars uncompressed; they are read in place.
	nested := append(libs(t, "BOOT-INF/lib/", zip.Store)[:1],
		entry{name: "BOOT-INF/lib/billing-service-1.3.0.jar", data: fixture(t, "billing-service-1.3.0.jar"), method: zip.Store})
	jar := fixture(t, "app.jar", nested...)
	got, err := analyze(t, DefaultLimits(), "app/app.jar", jar)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Component{
		comp("", "app", "0.4.1", "app/app.jar"),
		comp("com.example.billing", "billing-service", "1.3.0", "app/app.jar!/BOOT-INF/lib/billing-service-1.3.0.jar"),
		comp("com.fasterxml.jackson.core", "jackson-databind", "2.9.10.1", "app/app.jar!/BOOT-INF/lib/billing-service-1.3.0.jar"),
		comp("org.yaml", "snakeyaml", "1.33", "app/app.jar!/BOOT-INF/lib/billing-service-1.3.0.jar"),
		comp("org.apache.logging.log4j", "log4j-core", "2.14.1", "app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestEarDepth(t *testing.T) {
	war := fixture(t, "shop.war", libs(t, "WEB-INF/lib/", zip.Deflate)[:1]...)
	ear := buildZip(t,
		entry{name: "META-INF/application.xml", data: []byte("<application/>"), method: zip.Deflate},
		entry{name: "shop.war", data: war, method: zip.Deflate},
	)
	got, err := analyze(t, DefaultLimits(), "srv/shop.ear", ear)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Component{
		comp("com.example", "shop", "2.0.0", "srv/shop.ear!/shop.war"),
		comp("org.apache.logging.log4j", "log4j-core", "2.14.1", "srv/shop.ear!/shop.war!/WEB-INF/lib/log4j-core-2.14.1.jar"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	lim := DefaultLimits()
	lim.MaxDepth = 1
	got, err = analyze(t, lim, "srv/shop.ear", ear)
	var w *layer.Warning
	if !asWarning(err, &w) || !strings.Contains(w.Error(), "shop.war!/WEB-INF/lib/log4j-core-2.14.1.jar: skipped, nested deeper than 1") {
		t.Fatalf("want a depth warning, got %v", err)
	}
	if !slices.Equal(got, want[:1]) {
		t.Errorf("got  %+v\nwant %+v", got, want[:1])
	}
}

func asWarning(err error, w **layer.Warning) bool {
	return errors.As(err, w)
}

func TestNestedLimits(t *testing.T) {
	log4j := fixture(t, "log4j-core-2.14.1.jar")
	// A nested jar padded with a highly compressible entry inflates far
	// beyond its compressed size.
	bomb := fixture(t, "vendor-sdk-4.2.0.jar", entry{name: "pad.bin", data: make([]byte, 4<<20), method: zip.Store})
	outer := buildZip(t,
		entry{name: "WEB-INF/lib/log4j-core-2.14.1.jar", data: log4j, method: zip.Deflate},
		entry{name: "WEB-INF/lib/vendor-sdk-4.2.0.jar", data: bomb, method: zip.Deflate},
	)
	lim := DefaultLimits()
	lim.MaxNestedSize = 1 << 20
	got, err := analyze(t, lim, "x.war", outer)
	var w *layer.Warning
	if !asWarning(err, &w) || !strings.HasPrefix(w.Error(), "WEB-INF/lib/vendor-sdk-4.2.0.jar: skipped") {
		t.Fatalf("want a size warning, got %v", err)
	}
	if want := []catalog.Component{comp("org.apache.logging.log4j", "log4j-core", "2.14.1", "x.war!/WEB-INF/lib/log4j-core-2.14.1.jar")}; !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// A header lying about the size is caught while inflating.
	lying := bytes.Clone(outer)
	patchUncompressedSizes(t, lying, "WEB-INF/lib/vendor-sdk-4.2.0.jar", 100)
	_, err = analyze(t, lim, "x.war", lying)
	if !asWarning(err, &w) || !strings.Contains(w.Error(), "vendor-sdk-4.2.0.jar") {
		t.Fatalf("want a warning for the lying entry, got %v", err)
	}

	lim = DefaultLimits()
	lim.MaxNestedTotal = int64(len(log4j)) + 10
	_, err = analyze(t, lim, "x.war", outer)
	if !asWarning(err, &w) || !strings.Contains(w.Error(), "exceed") {
		t.Fatalf("want a total-size warning, got %v", err)
	}
}

// patchUncompressedSizes overwrites the declared uncompressed size of the
// named entry in its local header and central directory record.
func patchUncompressedSizes(t *testing.T, b []byte, name string, size uint32) {
	t.Helper()
	patched := 0
	for _, sig := range []struct {
		magic      string
		sizeOff    int
		nameLenOff int
		nameOff    int
	}{{"PK\x03\x04", 22, 26, 30}, {"PK\x01\x02", 24, 28, 46}} {
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(sig.magic))
			if j < 0 {
				break
			}
			i += j
			n := int(b[i+sig.nameLenOff]) | int(b[i+sig.nameLenOff+1])<<8
			if i+sig.nameOff+n <= len(b) && string(b[i+sig.nameOff:i+sig.nameOff+n]) == name {
				b[i+sig.sizeOff], b[i+sig.sizeOff+1], b[i+sig.sizeOff+2], b[i+sig.sizeOff+3] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
				patched++
			}
			i += 4
		}
	}
	if patched != 2 {
		t.Fatalf("patched %d headers of %s, want 2", patched, name)
	}
}

func TestEntryLimit(t *testing.T) {
	var entries []entry
	for i := range 20 {
		entries = append(entries, entry{name: "f" + strings.Repeat("x", i), method: zip.Store})
	}
	lim := DefaultLimits()
	lim.MaxEntries = 10
	_, err := analyze(t, lim, "many.jar", buildZip(t, entries...))
	if err == nil || !strings.Contains(err.Error(), "many.jar") || !strings.Contains(err.Error(), "20 entries exceeds the limit of 10") {
		t.Fatalf("err = %v", err)
	}
}

func TestMalformed(t *testing.T) {
	good := fixture(t, "log4j-core-2.14.1.jar")
	for name, b := range map[string][]byte{
		"empty.jar":     {},
		"text.jar":      []byte("this is not a zip archive, just text long enough to look for a directory"),
		"truncated.jar": good[:len(good)/2],
		"cut-tail.jar":  good[:len(good)-5],
	} {
		comps, _, err := Parse(context.Background(), bytes.NewReader(b), int64(len(b)), name, DefaultLimits())
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
		if comps != nil {
			t.Errorf("%s: components %v next to an error", name, comps)
		}
	}
	// A broken nested jar is a warning; its siblings are still reported.
	outer := buildZip(t,
		entry{name: "lib/broken-1.0.jar", data: []byte("garbage"), method: zip.Deflate},
		entry{name: "lib/log4j-core-2.14.1.jar", data: good, method: zip.Store},
	)
	got, err := analyze(t, DefaultLimits(), "a.jar", outer)
	var w *layer.Warning
	if !asWarning(err, &w) || !strings.Contains(w.Error(), "lib/broken-1.0.jar") {
		t.Fatalf("want a warning naming the broken jar, got %v", err)
	}
	if len(got) != 1 || got[0].Name != "org.apache.logging.log4j:log4j-core" {
		t.Errorf("got %+v", got)
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func TestBigJarIsNotReadWhole(t *testing.T) {
	// A 96 MiB jar on disk: a stored blob plus pom.properties at the end.
	p := filepath.Join(t.TempDir(), "big-1.0.jar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "blob.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0x5a}, 1<<20)
	for range 96 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	w, err = zw.Create("META-INF/maven/com.example/big/pom.properties")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("groupId=com.example\nartifactId=big\nversion=1.0\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	c := &countingReaderAt{r: f}
	comps, warnings, err := Parse(context.Background(), c, st.Size(), "big-1.0.jar", DefaultLimits())
	_ = f.Close()
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	if len(comps) != 1 || comps[0].Name != "com.example:big" {
		t.Errorf("comps = %+v", comps)
	}
	if c.n.Load() > 1<<20 {
		t.Errorf("read %d bytes of a %d byte jar", c.n.Load(), st.Size())
	}
}

func TestCanceled(t *testing.T) {
	war := fixture(t, "shop.war", libs(t, "WEB-INF/lib/", zip.Deflate)...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Parse(ctx, bytes.NewReader(war), int64(len(war)), "shop.war", DefaultLimits()); err == nil {
		t.Error("Parse with a canceled context succeeded")
	}
}

func TestParseProperties(t *testing.T) {
	got := ParseProperties([]byte("# c\n! c\n  a = 1\nb:2\nc 3\nd=x\\\n   y\ne=\\u0041\\t\\=\nf\n\\:g=h\ni=j\\\\\nk=l"))
	want := map[string]string{"a": "1", "b": "2", "c": "3", "d": "xy", "e": "A\t=", "f": "", ":g": "h", "i": `j\`, "k": "l"}
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseManifest(t *testing.T) {
	got := ParseManifest([]byte("\r\nManifest-Version: 1.0\r\nBundle-SymbolicName: org.example.very.lo\r\n ng.name;singleton:=true\r\nbroken line\r\n\r\nName: org/example/\r\nImplementation-Version: 9\r\n"))
	if got["Bundle-SymbolicName"] != "org.example.very.long.name;singleton:=true" || got["Manifest-Version"] != "1.0" {
		t.Errorf("got %q", got)
	}
	if _, ok := got["Implementation-Version"]; ok {
		t.Error("read a per-entry section as the main section")
	}
	if g, a, v, ok := FromManifest(got, ""); ok {
		t.Errorf("a manifest without a version named a component: %q %q %q", g, a, v)
	}
	for _, tc := range []struct {
		attrs                    map[string]string
		file                     string
		group, artifact, version string
		ok                       bool
	}{
		{map[string]string{"Implementation-Title": "spring-boot", "Implementation-Version": "2.6.5", "Automatic-Module-Name": "spring.boot"}, "", "org.springframework.boot", "spring-boot", "2.6.5", true},
		{map[string]string{"Bundle-SymbolicName": "com.fasterxml.jackson.core.jackson-databind", "Bundle-Version": "2.13.0"}, "jackson-databind", "com.fasterxml.jackson.core", "jackson-databind", "2.13.0", true},
		{map[string]string{"Implementation-Title": "Apache Commons", "Specification-Version": "1.2"}, "", "", "", "", false},
		{map[string]string{"Implementation-Title": "tool", "Implementation-Version": "${version}"}, "", "", "", "", false},
	} {
		g, a, v, ok := FromManifest(tc.attrs, tc.file)
		if g != tc.group || a != tc.artifact || v != tc.version || ok != tc.ok {
			t.Errorf("FromManifest(%v, %q) = %q %q %q %v", tc.attrs, tc.file, g, a, v, ok)
		}
	}
}

func TestFromFileName(t *testing.T) {
	for in, want := range map[string]fileName{
		"log4j-core-2.14.1.jar":    {"log4j-core", "2.14.1"},
		"log4j-1.2-api-2.17.0.jar": {"log4j-1.2-api", "2.17.0"},
		"guava-31.1-jre.jar":       {"guava", "31.1-jre"},
		"a/b/javax.inject-1.jar":   {"javax.inject", "1"},
		"app.jar":                  {},
		"-1.0.jar":                 {},
	} {
		got, _ := fromFileName(in)
		if got != want {
			t.Errorf("fromFileName(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestZeroLimits(t *testing.T) {
	war := fixture(t, "shop.war", libs(t, "WEB-INF/lib/", zip.Deflate)[:1]...)
	got, err := analyze(t, Limits{}, "shop.war", war)
	if err != nil || len(got) != 2 {
		t.Errorf("with zero limits: %+v, %v", got, err)
	}
}

func TestMatch(t *testing.T) {
	a := New(DefaultLimits())
	for _, tc := range []struct {
		path string
		mode fs.FileMode
		size int64
		want bool
	}{
		{"opt/app.jar", 0o644, 100, true},
		{"opt/app.WAR", 0o644, 100, true},
		{"opt/app.ear", 0o644, 100, true},
		{"var/jenkins/plugins/git.hpi", 0o644, 100, true},
		{"opt/app.jar", 0o644, 0, false},
		{"opt/app.jar", fs.ModeSymlink, 100, false},
		{"opt/app.jar", fs.ModeDir, 100, false},
		{"opt/app.zip", 0o644, 100, false},
		{"opt/app.jar", 0o644, 5 << 30, false},
	} {
		if got := a.Match(tc.path, tc.mode, tc.size); got != tc.want {
			t.Errorf("Match(%s, %v, %d) = %v, want %v", tc.path, tc.mode, tc.size, got, tc.want)
		}
	}
	if a.Name() != "java" || a.Version() < 1 {
		t.Errorf("Name/Version = %q/%d", a.Name(), a.Version())
	}
}

func FuzzParse(f *testing.F) {
	f.Add(fixture(f, "log4j-core-2.14.1.jar"))
	f.Add(fixture(f, "billing-service-1.3.0.jar"))
	f.Add(buildZip(f, entry{name: "lib/x-1.jar", data: fixture(f, "spring-beans-5.3.17.jar"), method: zip.Store}))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := DefaultLimits()
		lim.MaxNestedSize = 1 << 20
		comps, _, err := Parse(context.Background(), bytes.NewReader(b), int64(len(b)), "fuzz.jar", lim)
		if err != nil && comps != nil {
			t.Fatalf("components next to error %v", err)
		}
	})
}

func FuzzMeta(f *testing.F) {
	f.Add([]byte("Manifest-Version: 1.0\nBundle-SymbolicName: a.b.c\n d\nBundle-Version: 1\n"))
	f.Add([]byte("a=b\\\n c\n\\u00zz=\\u12"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = ParseProperties(b)
		_, _, _, _ = FromManifest(ParseManifest(b), "")
	})
}
