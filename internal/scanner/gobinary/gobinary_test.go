package gobinary

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// The test program depends on module versions the Go vulnerability database
// lists as affected: golang.org/x/net v0.7.0 (GO-2023-1988, fixed in 0.13.0)
// and golang.org/x/text v0.3.5 (GO-2021-0113, fixed in 0.3.7), the latter
// reached through a replace directive, plus a module replaced by a local
// directory, which has no version.
const (
	goMod = `module example.com/vulnapp

go 1.22

require (
	example.com/greet v0.0.0
	golang.org/x/net v0.7.0
	golang.org/x/text v0.3.7
)

replace golang.org/x/text => golang.org/x/text v0.3.5

replace example.com/greet => ./greet
`
	mainGo = `package main

import (
	"fmt"
	"strings"

	"example.com/greet"
	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() {
	doc, err := html.Parse(strings.NewReader("<p>hi</p>"))
	fmt.Println(doc != nil, err, language.MustParse("de-CH"), greet.Hello())
}
`
	greetMod = "module example.com/greet\n\ngo 1.22\n"
	greetGo  = "package greet\n\n// Hello greets.\nfunc Hello() string { return \"hello\" }\n"
)

type built struct {
	dir  string
	bins map[string]string // GOOS → binary
	err  error
}

var (
	buildOnce sync.Once
	buildRes  built
)

// binaries compiles the test program once per test binary for Linux (ELF),
// macOS (Mach-O) and Windows (PE). The module proxy must be reachable.
func binaries(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gobinary-test-")
		if err != nil {
			buildRes.err = err
			return
		}
		buildRes.dir = dir
		files := map[string]string{
			"go.mod":         goMod,
			"main.go":        mainGo,
			"greet/go.mod":   greetMod,
			"greet/greet.go": greetGo,
		}
		for name, content := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				buildRes.err = err
				return
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				buildRes.err = err
				return
			}
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildRes.err = err
			return
		}
		buildRes.bins = map[string]string{}
		for _, goos := range []string{"linux", "darwin", "windows"} {
			out := filepath.Join(dir, "vulnapp-"+goos)
			cmd := exec.Command(goBin, "build", "-o", out, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(),
				"GOFLAGS=-mod=mod -buildvcs=false", "GOOS="+goos, "GOARCH=amd64",
				"CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local")
			if msg, err := cmd.CombinedOutput(); err != nil {
				buildRes.err = &buildError{goos: goos, err: err, out: string(msg)}
				return
			}
			buildRes.bins[goos] = out
		}
	})
	if buildRes.err != nil {
		t.Fatalf("build test program: %v", buildRes.err)
	}
	return buildRes.bins
}

type buildError struct {
	goos string
	err  error
	out  string
}

func (e *buildError) Error() string { return "GOOS=" + e.goos + ": " + e.err.Error() + "\n" + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildRes.dir != "" {
		_ = os.RemoveAll(buildRes.dir)
	}
	os.Exit(code)
}

func TestAnalyzeBuiltBinaries(t *testing.T) {
	bins := binaries(t)
	bi, err := buildinfo.ReadFile(bins["linux"])
	if err != nil {
		t.Fatal(err)
	}
	stdlib := StdlibVersion(bi.GoVersion)
	if !strings.HasPrefix(stdlib, "v1.") {
		t.Fatalf("StdlibVersion(%q) = %q", bi.GoVersion, stdlib)
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			name := "usr/local/bin/vulnapp"
			if goos == "windows" {
				name = "app/vulnapp.exe"
			}
			b, err := os.ReadFile(bins[goos])
			if err != nil {
				t.Fatal(err)
			}
			a := New()
			mode := fs.FileMode(0o755)
			if goos == "windows" {
				mode = 0o644
			}
			if !a.Match(name, mode, int64(len(b))) {
				t.Fatalf("Match(%s, %v, %d) = false", name, mode, len(b))
			}
			got, err := a.Analyze(context.Background(), layer.File{
				Path: name, Mode: mode, Size: int64(len(b)), Content: bytes.NewReader(b),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []catalog.Component{
				{Name: "golang.org/x/net", Version: "v0.7.0", Ecosystem: catalog.Go, Path: name, PURL: "pkg:golang/golang.org/x/net@v0.7.0"},
				{Name: "golang.org/x/text", Version: "v0.3.5", Ecosystem: catalog.Go, Path: name, PURL: "pkg:golang/golang.org/x/text@v0.3.5"},
				{Name: "stdlib", Version: stdlib, Ecosystem: catalog.Go, Path: name, PURL: "pkg:golang/stdlib@" + stdlib},
			}
			sortComps(got)
			if !slices.Equal(got, want) {
				t.Errorf("components:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func sortComps(c []catalog.Component) {
	slices.SortFunc(c, func(a, b catalog.Component) int { return strings.Compare(a.Name, b.Name) })
}

func TestNotGoExecutables(t *testing.T) {
	// A C program from the host: a valid ELF without Go build information.
	for _, p := range []string{"/bin/sh", "/usr/bin/env"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(bytes.NewReader(b), p)
		if err != nil || got != nil {
			t.Errorf("Parse(%s) = %v, %v; want nothing", p, got, err)
		}
	}
	for name, content := range map[string]string{
		"empty":        "",
		"script":       "#!/bin/sh\necho hi\n",
		"elf-garbage":  "\x7fELF\x02\x01\x01" + strings.Repeat("\xff", 200),
		"pe-garbage":   "MZ" + strings.Repeat("\x00", 100),
		"macho-trunc":  "\xcf\xfa\xed\xfe\x07\x00",
		"fat-garbage":  "\xca\xfe\xba\xbe\x00\x00\x00\x10" + strings.Repeat("\x01", 64),
		"short-header": "\x7fEL",
	} {
		got, err := Parse(strings.NewReader(content), name)
		if got != nil {
			t.Errorf("Parse(%s) = %v, want no components", name, got)
		}
		if err != nil && !strings.Contains(err.Error(), name) {
			t.Errorf("Parse(%s) error %q does not name the file", name, err)
		}
	}
}

func TestTruncatedGoBinary(t *testing.T) {
	b, err := os.ReadFile(binaries(t)["linux"])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{64, 4096, len(b) / 2} {
		// Whatever the cut, a truncated binary gives an answer, never a panic.
		_, _ = Parse(bytes.NewReader(b[:n]), "cut")
	}
}

func TestComponents(t *testing.T) {
	bi, err := buildinfo.Read(strings.NewReader(""))
	if err == nil || bi != nil {
		t.Fatal("empty input read as build info")
	}
	info := &debug.BuildInfo{
		GoVersion: "go1.21rc2 X:boringcrypto",
		Main:      *mod("github.com/acme/tool", "v1.4.0", nil),
		Deps: []*debug.Module{
			mod("github.com/docker/docker", "v20.10.7+incompatible", nil),
			mod("github.com/old/thing", "v1.0.0", mod("github.com/fork/thing", "v1.0.1", nil)),
			mod("example.com/local", "v0.0.0", mod("../local", "", nil)),
			mod("golang.org/x/sys", "v0.0.0-20220722155257-8c9f86f7a55f", nil),
		},
	}
	got := Components(info, "bin/tool")
	want := []catalog.Component{
		{Name: "github.com/acme/tool", Version: "v1.4.0", Ecosystem: catalog.Go, Path: "bin/tool", PURL: "pkg:golang/github.com/acme/tool@v1.4.0"},
		{Name: "github.com/docker/docker", Version: "v20.10.7+incompatible", Ecosystem: catalog.Go, Path: "bin/tool", PURL: "pkg:golang/github.com/docker/docker@v20.10.7%2Bincompatible"},
		{Name: "github.com/fork/thing", Version: "v1.0.1", Ecosystem: catalog.Go, Path: "bin/tool", PURL: "pkg:golang/github.com/fork/thing@v1.0.1"},
		{Name: "golang.org/x/sys", Version: "v0.0.0-20220722155257-8c9f86f7a55f", Ecosystem: catalog.Go, Path: "bin/tool", PURL: "pkg:golang/golang.org/x/sys@v0.0.0-20220722155257-8c9f86f7a55f"},
		{Name: "stdlib", Version: "v1.21.0-rc.2", Ecosystem: catalog.Go, Path: "bin/tool", PURL: "pkg:golang/stdlib@v1.21.0-rc.2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Components:\n got %+v\nwant %+v", got, want)
	}

	info.Main = *mod("example.com/dev", "(devel)", nil)
	info.Deps = nil
	info.GoVersion = "devel go1.23-abcdef Tue Jan 1 00:00:00 2024 +0000"
	if got := Components(info, "x"); len(got) != 0 {
		t.Errorf("devel main module and toolchain reported: %+v", got)
	}
}

func TestStdlibVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.3":                      "v1.22.3",
		"go1.21.0":                      "v1.21.0",
		"go1.20":                        "v1.20.0",
		"go1.21rc2":                     "v1.21.0-rc.2",
		"go1.9beta1":                    "v1.9.0-beta.1",
		"go1.22.3 X:nocoverageredesign": "v1.22.3",
		"devel go1.23-abcdef":           "",
		"go1":                           "",
		"go1.x":                         "",
		"go1.21rc":                      "",
		"go1.021":                       "",
		"":                              "",
		"1.22.3":                        "",
	} {
		if got := StdlibVersion(in); got != want {
			t.Errorf("StdlibVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		path string
		mode fs.FileMode
		size int64
		want bool
	}{
		{"usr/bin/kubectl", 0o755, 40 << 20, true},
		{"usr/bin/tiny", 0o755, 1 << 10, false},
		{"srv/huge", 0o755, 2 << 30, false},
		{"etc/config", 0o644, 1 << 20, false},
		{"app/tool.EXE", 0o644, 1 << 20, true},
		{"usr/bin/link", fs.ModeSymlink | 0o777, 1 << 20, false},
		{"usr/bin", fs.ModeDir | 0o755, 1 << 20, false},
	} {
		if got := a.Match(tc.path, tc.mode, tc.size); got != tc.want {
			t.Errorf("Match(%s, %v, %d) = %v, want %v", tc.path, tc.mode, tc.size, got, tc.want)
		}
	}
	if a.Name() != "gobinary" || a.Version() < 1 {
		t.Errorf("Name/Version = %q/%d", a.Name(), a.Version())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Add([]byte("MZ\x90\x00"))
	f.Add([]byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"))
	f.Add([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		comps, err := Parse(bytes.NewReader(b), "fuzz")
		if err != nil && comps != nil {
			t.Fatalf("components next to error %v", err)
		}
	})
}

func mod(path, version string, replace *debug.Module) *debug.Module {
	return &debug.Module{Path: path, Version: version, Replace: replace}
}
