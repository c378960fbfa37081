package npm

import (
	"bytes"
	"context"
	"errors"
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

// scanTree runs the analyzer over every file of a directory tree the way the
// layer walker does: Match on path, mode and size, then Analyze.
func scanTree(t *testing.T, root string) (lines []string, warnings []string) {
	t.Helper()
	a := New()
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
		var w *layer.Warning
		if errors.As(err, &w) {
			warnings = append(warnings, w.Msgs...)
		} else if err != nil {
			t.Errorf("Analyze(%s): %v", rel, err)
		}
		for _, c := range comps {
			if c.Ecosystem != catalog.Npm || c.Path != rel || c.PURL != PURL(c.Name, c.Version) {
				t.Errorf("component %+v: wrong ecosystem, path or purl", c)
			}
			line := c.Path + " " + c.Name + "@" + c.Version
			if c.License != "" {
				line += " " + c.License
			}
			lines = append(lines, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return lines, warnings
}

func TestTree(t *testing.T) {
	got, warnings := scanTree(t, filepath.Join("testdata", "rootfs"))
	const app = "usr/src/app/node_modules/"
	want := []string{
		"srv/api/package-lock.json @types/node@20.4.2",
		"srv/api/package-lock.json lodash@4.17.20 MIT",
		"srv/api/package-lock.json lru-cache@6.0.0 ISC",
		"srv/api/package-lock.json minimist@1.2.5 MIT",
		"srv/api/package-lock.json semver@7.3.8 ISC",
		"srv/berry/yarn.lock lodash@4.17.20",
		"srv/berry/yarn.lock minimist@1.2.5",
		"srv/legacy/package-lock.json minimist@0.0.8",
		"srv/legacy/package-lock.json minimist@1.2.0",
		"srv/legacy/package-lock.json mkdirp@0.5.1",
		"srv/legacy/package-lock.json underscore@1.8.3",
		"srv/web/yarn.lock @babel/code-frame@7.22.5",
		"srv/web/yarn.lock @babel/highlight@7.22.5",
		"srv/web/yarn.lock lodash@4.17.20",
		"srv/web/yarn.lock my-fork@2.0.0-acme",
		"srv/web/yarn.lock semver@5.7.1",
		"srv/web/yarn.lock semver@7.3.8",
		"srv/web/yarn.lock string-width@4.2.3",
		app + "@babel/code-frame/package.json @babel/code-frame@7.22.5 MIT",
		app + "express/node_modules/debug/package.json debug@2.6.9 MIT",
		app + "express/package.json express@4.17.1 MIT",
		app + "legacy-licenses/package.json legacy-licenses@0.3.1 MIT OR Apache-2.0",
		app + "lodash/package.json lodash@4.17.20 MIT",
		app + "minimist/package.json minimist@1.2.5 MIT",
		app + "semver/package.json semver@7.3.8 ISC",
		app + "string-width-cjs/package.json string-width@4.2.3 MIT",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
}

func TestMatch(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		path string
		size int64
		want bool
	}{
		{"app/node_modules/lodash/package.json", 100, true},
		{"app/node_modules/@babel/core/package.json", 100, true},
		{"usr/lib/node_modules/npm/node_modules/semver/package.json", 100, true},
		{"app/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/package.json", 100, true},
		{"app/package.json", 100, false},
		{"app/node_modules/lodash/test/package.json", 100, false},
		{"app/node_modules/@babel/package.json", 100, false},
		{"app/node_modules/.cache/package.json", 100, false},
		{"node_modules/lodash/package.json", 100, true},
		{"package.json", 100, false},
		{"app/package-lock.json", 100, true},
		{"app/npm-shrinkwrap.json", 100, true},
		{"app/yarn.lock", 100, true},
		{"yarn.lock", 100, true},
		{"app/node_modules/x/yarn.lock", 100, false},
		{"app/node_modules/x/package-lock.json", 100, false},
		{"app/node_modules/.package-lock.json", 100, false},
		{"app/yarn.lock", 0, false},
		{"app/yarn.lock", MaxLockFile + 1, false},
		{"app/node_modules/x/package.json", MaxPackageJSON + 1, false},
	} {
		if got := a.Match(tc.path, 0o644, tc.size); got != tc.want {
			t.Errorf("Match(%s, %d) = %v, want %v", tc.path, tc.size, got, tc.want)
		}
	}
	if a.Match("app/yarn.lock", fs.ModeSymlink, 100) {
		t.Error("matched a symlink")
	}
	if a.Name() != "npm" || a.Version() < 1 {
		t.Errorf("Name/Version = %q/%d", a.Name(), a.Version())
	}
}

func TestPURL(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"@babel/core", "7.22.5", "pkg:npm/%40babel/core@7.22.5"},
		{"lodash", "4.17.21", "pkg:npm/lodash@4.17.21"},
		{"x", "1.0.0-beta+exp.sha", "pkg:npm/x@1.0.0-beta%2Bexp.sha"},
	} {
		if got := PURL(tc.name, tc.version); got != tc.want {
			t.Errorf("PURL(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	a := New()
	for _, tc := range []struct{ path, content, want string }{
		{"app/node_modules/x/package.json", `{"name": "x", "version": 1}`, "app/node_modules/x/package.json"},
		{"app/node_modules/x/package.json", `{"name": "x",`, "app/node_modules/x/package.json"},
		{"app/package-lock.json", `{"lockfileVersion": 3, "packages": []}`, "app/package-lock.json"},
		{"app/package-lock.json", `[`, "app/package-lock.json"},
	} {
		_, err := a.Analyze(context.Background(), layer.File{Path: tc.path, Size: int64(len(tc.content)), Content: strings.NewReader(tc.content)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Analyze(%s, %q) error = %v, want one naming %s", tc.path, tc.content, err, tc.want)
		}
	}
	// A yarn.lock with a broken block keeps the good blocks and says where
	// the bad one is.
	lock := "lodash@^4:\n  version \"4.17.21\"\n\nbroken line without colon\n\nleft-pad@^1:\n  resolved \"x\"\n"
	comps, err := a.Analyze(context.Background(), layer.File{Path: "app/yarn.lock", Size: int64(len(lock)), Content: strings.NewReader(lock)})
	var w *layer.Warning
	if !errors.As(err, &w) || len(w.Msgs) != 2 || !strings.HasPrefix(w.Msgs[0], "line 4: not a block header") || !strings.HasPrefix(w.Msgs[1], "line 6: entry left-pad") {
		t.Errorf("warnings = %v", err)
	}
	if len(comps) != 1 || comps[0].Name != "lodash" || comps[0].Version != "4.17.21" {
		t.Errorf("components = %+v", comps)
	}
	if _, err := a.Analyze(context.Background(), layer.File{Path: "app/index.js", Size: 1, Content: strings.NewReader("x")}); err == nil {
		t.Error("analyzed a file it does not match")
	}
}

func FuzzPackageJSON(f *testing.F) {
	for _, p := range []string{
		"testdata/rootfs/usr/src/app/node_modules/express/package.json",
		"testdata/rootfs/usr/src/app/node_modules/legacy-licenses/package.json",
		"testdata/rootfs/srv/api/package-lock.json",
		"testdata/rootfs/srv/legacy/package-lock.json",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = ParsePackageJSON(b)
		comps, err := ParsePackageLock(b, "fuzz")
		if err != nil && comps != nil {
			t.Fatal("components next to an error")
		}
	})
}

func FuzzYarnLock(f *testing.F) {
	for _, p := range []string{"testdata/rootfs/srv/web/yarn.lock", "testdata/rootfs/srv/berry/yarn.lock"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range func() []catalog.Component { c, _ := ParseYarnLock(b, "fuzz"); return c }() {
			if c.Name == "" || c.Version == "" {
				t.Fatalf("empty name or version: %+v", c)
			}
		}
	})
}
