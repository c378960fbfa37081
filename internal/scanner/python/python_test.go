package python

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

func TestTree(t *testing.T) {
	root := filepath.Join("testdata", "rootfs")
	a := New()
	var got []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !a.Match(rel, info.Mode(), info.Size()) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		comps, err := a.Analyze(context.Background(), layer.File{Path: rel, Mode: info.Mode().Perm(), Size: int64(len(b)), Content: bytes.NewReader(b)})
		if err != nil {
			t.Errorf("Analyze(%s): %v", rel, err)
		}
		for _, c := range comps {
			if c.Ecosystem != catalog.PyPI || c.Path != rel || c.PURL != PURL(c.Name, c.Version) {
				t.Errorf("component %+v: wrong ecosystem, path or purl", c)
			}
			got = append(got, strings.TrimPrefix(c.Path, "usr/local/lib/python3.11/site-packages/")+" | "+c.Name+" "+c.Version+" | "+c.License)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{
		"PyYAML-6.0.dist-info/METADATA | PyYAML 6.0 | MIT",
		"attrs-24.2.0.dist-info/METADATA | attrs 24.2.0 | MIT",
		"legacy_lib-1.0.dist-info/METADATA | legacy_lib 1.0 | MIT License, BSD License",
		"requests-2.28.1.dist-info/METADATA | requests 2.28.1 | Apache 2.0",
		"six-1.16.0-py3.11.egg/EGG-INFO/PKG-INFO | six 1.16.0 | MIT",
		"typing_extensions-4.7.1.dist-info/METADATA | typing_extensions 4.7.1 | Python Software Foundation License",
		"urllib3-1.26.12.dist-info/METADATA | urllib3 1.26.12 | MIT",
		"usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info | python-apt 2.6.0 | GNU GPL",
		"zope.interface-5.4.0-py3.11.egg-info/PKG-INFO | zope.interface 5.4.0 | ZPL 2.1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"PyYAML":            "pyyaml",
		"typing_extensions": "typing-extensions",
		"zope.interface":    "zope-interface",
		"Foo__Bar-.baz":     "foo-bar-baz",
		"requests":          "requests",
		"_leading":          "leading",
		"":                  "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"PyYAML", "6.0", "pkg:pypi/pyyaml@6.0"},
		{"typing_extensions", "4.7.1", "pkg:pypi/typing-extensions@4.7.1"},
		{"zope.interface", "5.4.0", "pkg:pypi/zope.interface@5.4.0"},
		{"torch", "2.1.0+cpu", "pkg:pypi/torch@2.1.0%2Bcpu"},
	} {
		if got := PURL(tc.name, tc.version); got != tc.want {
			t.Errorf("PURL(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA", true},
		{"site-packages/foo-1.0.egg-info/PKG-INFO", true},
		{"usr/lib/python3/dist-packages/python_apt-2.6.0.egg-info", true},
		{"site-packages/six-1.16.0-py3.11.egg/EGG-INFO/PKG-INFO", true},
		{"site-packages/requests-2.28.1.dist-info/RECORD", false},
		{"site-packages/.dist-info/METADATA", false},
		{"site-packages/METADATA", false},
		{"METADATA", false},
		{"PKG-INFO", false},
		{"src/project/PKG-INFO", false},
		{"site-packages/EGG-INFO/PKG-INFO", false},
		{".egg-info", false},
	} {
		if got := a.Match(tc.path, 0o644, 100); got != tc.want {
			t.Errorf("Match(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if a.Match("a-1.dist-info/METADATA", fs.ModeSymlink, 100) || a.Match("a-1.dist-info/METADATA", 0o644, 0) || a.Match("a-1.dist-info/METADATA", 0o644, MaxSize+1) {
		t.Error("matched a link, an empty file or a giant one")
	}
	if a.Name() != "python" || a.Version() < 1 {
		t.Errorf("Name/Version = %q/%d", a.Name(), a.Version())
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"", "no Name header"},
		{"Metadata-Version: 2.1\nName: foo\n", "distribution foo: no Version header"},
		{"Metadata-Version: 2.1\nVersion: 1.0\n", "no Name header"},
		{" leading continuation\nName: x\n", "line 1: continuation line before any header"},
		{"Metadata-Version: 2.1\nthis is not a header\nName: x\nVersion: 1\n", "line 2: not a header"},
		{"Name: two words\nVersion: 1\n", "malformed name or version"},
		{"\x00\x01\x02", "line 1: not a header"},
	} {
		_, err := New().Analyze(context.Background(), layer.File{Path: "x-1.dist-info/METADATA", Size: int64(len(tc.content)), Content: strings.NewReader(tc.content)})
		if err == nil || !strings.Contains(err.Error(), "x-1.dist-info/METADATA") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.content, err, tc.want)
		}
	}
	// Name and Version before a stray line are enough.
	m, err := ParseMetadata(strings.NewReader("Name: ok\nVersion: 2\n| stray line\nLicense: MIT\n"))
	if err != nil || m.Name != "ok" || m.Version != "2" || m.License != "" {
		t.Errorf("got %+v, %v", m, err)
	}
}

func TestHugeHeaderIsBounded(t *testing.T) {
	// A description folded into one giant header: only MaxHeader bytes are read.
	var b bytes.Buffer
	b.WriteString("Name: big\nVersion: 1.0\nDescription: start\n")
	line := "        " + strings.Repeat("x", 1000) + "\n"
	for b.Len() < 4*MaxHeader {
		b.WriteString(line)
	}
	r := &countingReader{r: bytes.NewReader(b.Bytes())}
	m, err := ParseMetadata(r)
	if err != nil || m.Name != "big" || m.Version != "1.0" {
		t.Fatalf("got %+v, %v", m, err)
	}
	if r.n > MaxHeader {
		t.Errorf("read %d bytes, limit %d", r.n, MaxHeader)
	}
	// One line longer than the limit.
	b.Reset()
	b.WriteString("Name: long\nVersion: 3\nSummary: ")
	b.WriteString(strings.Repeat("y", 2*MaxHeader))
	m, err = ParseMetadata(bytes.NewReader(b.Bytes()))
	if err != nil || m.Name != "long" {
		t.Errorf("got %+v, %v", m, err)
	}
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzParseMetadata(f *testing.F) {
	for _, p := range []string{
		"testdata/rootfs/usr/local/lib/python3.11/site-packages/requests-2.28.1.dist-info/METADATA",
		"testdata/rootfs/usr/local/lib/python3.11/site-packages/legacy_lib-1.0.dist-info/METADATA",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetadata(bytes.NewReader(b))
		if err == nil && (m.Name == "" || m.Version == "") {
			t.Fatalf("no error but empty name or version: %+v", m)
		}
		_ = Normalize(m.Name)
	})
}
