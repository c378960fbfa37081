package layer_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/scanner/apk"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/dpkg"
	"github.com/stockade-dev/stockade/internal/scanner/layer"
)

// entry is one tar entry of a test layer. Body is the content; Size, when
// set, streams that many zero bytes instead (for big files).
type entry struct {
	Name string
	Type byte
	Body string
	Link string
	Mode int64
	Size int64
}

func reg(name, body string) entry   { return entry{Name: name, Type: tar.TypeReg, Body: body} }
func dir(name string) entry         { return entry{Name: name, Type: tar.TypeDir} }
func symlink(name, to string) entry { return entry{Name: name, Type: tar.TypeSymlink, Link: to} }
func hardlink(name, to string) entry {
	return entry{Name: name, Type: tar.TypeLink, Link: to}
}

// writeTar writes the entries as a tar stream.
func writeTar(w io.Writer, entries []entry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode, Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.Type == tar.TypeReg {
			h.Size = int64(len(e.Body))
			if e.Size > 0 {
				h.Size = e.Size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if e.Type != tar.TypeReg {
			continue
		}
		if e.Size > 0 {
			if _, err := io.CopyN(tw, zeros{}, e.Size); err != nil {
				return err
			}
			continue
		}
		if _, err := io.WriteString(tw, e.Body); err != nil {
			return err
		}
	}
	return tw.Close()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func tarball(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeTar(&buf, entries); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// streamTar produces the tar stream on the fly, so that big layers need no
// memory in the test either.
func streamTar(entries ...entry) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, entries)) }()
	return pr
}

func testdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines is a small analyzer for the containment tests: every *.pkgs file
// lists "name version" per line.
type lines struct{}

func (lines) Name() string { return "lines" }
func (lines) Version() int { return 1 }
func (lines) Match(p string, _ fs.FileMode, _ int64) bool {
	return strings.HasSuffix(p, ".pkgs")
}
func (lines) Analyze(_ context.Context, in layer.File) ([]catalog.Component, error) {
	data, err := in.ReadAll(1 << 20)
	if err != nil {
		return nil, err
	}
	var out []catalog.Component
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, version, ok := strings.Cut(l, " ")
		if !ok {
			return out, &layer.Warning{Msgs: []string{fmt.Sprintf("bad line %q", l)}}
		}
		out = append(out, catalog.Component{Name: name, Version: version, Ecosystem: catalog.Npm})
	}
	return out, nil
}

// probe records how *.big files reach analyzers and counts their bytes.
type probe struct {
	mu      sync.Mutex
	seen    map[string]string // path → "memory" or the spool file name
	local   map[string]string // path → LocalPath result
	maxLeft int               // most files seen in the private directory
}

func (*probe) Name() string { return "probe" }
func (*probe) Version() int { return 1 }
func (*probe) Match(p string, mode fs.FileMode, _ int64) bool {
	return strings.HasSuffix(p, ".big") && mode.IsRegular()
}
func (pr *probe) Analyze(_ context.Context, in layer.File) ([]catalog.Component, error) {
	where := "memory"
	if f, ok := in.Content.(*os.File); ok {
		where = f.Name()
	}
	local, err := in.LocalPath()
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(local)
	if err != nil {
		return nil, fmt.Errorf("local copy: %w", err)
	}
	if st.Size() != in.Size {
		return nil, fmt.Errorf("local copy %s: %d bytes, want %d", local, st.Size(), in.Size)
	}
	n, err := io.Copy(io.Discard, in.Reader())
	if err != nil {
		return nil, err
	}
	inDir, err := os.ReadDir(filepath.Dir(local))
	if err != nil {
		return nil, err
	}
	pr.mu.Lock()
	pr.maxLeft = max(pr.maxLeft, len(inDir))
	pr.seen[in.Path] = where
	pr.local[in.Path] = local
	pr.mu.Unlock()
	return []catalog.Component{{Name: in.Path, Version: fmt.Sprint(n)}}, nil
}

// boom stands for a parser library that panics on hostile content.
type boom struct{}

func (boom) Name() string                                { return "boom" }
func (boom) Version() int                                { return 1 }
func (boom) Match(p string, _ fs.FileMode, _ int64) bool { return strings.HasSuffix(p, ".boom") }
func (boom) Analyze(context.Context, layer.File) ([]catalog.Component, error) {
	panic("hostile input")
}

func registry(t testing.TB, extra ...layer.Analyzer) layer.Registry {
	t.Helper()
	r, err := layer.NewRegistry(append([]layer.Analyzer{dpkg.New(), apk.New(), lines{}, boom{}}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func walk(t *testing.T, opts layer.WalkerOptions, entries ...entry) catalog.LayerResult {
	t.Helper()
	res, err := layer.NewWalker(registry(t), opts).Walk(context.Background(), "sha256:aaaa", bytes.NewReader(tarball(t, entries...)))
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return res
}

func names(cs []catalog.Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"@"+c.Version)
	}
	return out
}

func hasWarning(res catalog.LayerResult, sub string) bool {
	return slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}

func TestWalkRealDebianLayer(t *testing.T) {
	status, err := os.ReadFile(filepath.Join(shareddata.Dir(t), "os", "debian-bookworm-minbase", "dpkg-status"))
	if err != nil {
		t.Fatal(err)
	}
	res := walk(t, layer.WalkerOptions{},
		dir("./"), dir("./etc/"),
		symlink("./etc/os-release", "../usr/lib/os-release"),
		reg("./etc/debian_version", "12.5\n"),
		dir("./usr/"), dir("./usr/lib/"),
		reg("./usr/lib/os-release", testdata(t, "os-release")),
		dir("./var/lib/dpkg/"),
		reg("./var/lib/dpkg/status", string(status)),
		reg("./var/lib/dpkg/status-old", string(status)),
	)
	if len(res.Warnings) > 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	want := catalog.OS{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}
	if res.OS == nil || *res.OS != want {
		t.Errorf("OS = %+v, want %+v", res.OS, want)
	}
	if len(res.Files) != 1 || len(res.Files[dpkg.StatusFile]) != 88 {
		t.Fatalf("files: %d, status packages %d; want 1 file with 88", len(res.Files), len(res.Files[dpkg.StatusFile]))
	}
	for _, c := range res.Files[dpkg.StatusFile] {
		if c.Layer != "sha256:aaaa" || c.Path != dpkg.StatusFile {
			t.Fatalf("component %+v: want layer and path set", c)
		}
	}
	if got := res.AnalyzerVersions; got["dpkg"] != 1 || got["osrelease"] != 1 || len(got) != 5 {
		t.Errorf("analyzer versions = %v", got)
	}
}

func TestWhiteoutsRecorded(t *testing.T) {
	res := walk(t, layer.WalkerOptions{},
		reg("opt/.wh.app", ""),
		reg("usr/share/.wh..wh..opq", ""),
		reg(".wh..wh..opq", ""),
		reg("etc/.wh..wh.plnk", ""), // aufs bookkeeping, ignored
		reg("etc/.wh.", ""),
		reg("opt/.wh.app", ""),
	)
	if !slices.Equal(res.Whiteouts, []string{"opt/app"}) {
		t.Errorf("whiteouts = %q", res.Whiteouts)
	}
	if !slices.Equal(res.OpaqueDirs, []string{"", "usr/share"}) {
		t.Errorf("opaque dirs = %q", res.OpaqueDirs)
	}
	if !hasWarning(res, `skip whiteout "etc/.wh."`) {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestPathTraversalAndAbsolutePaths(t *testing.T) {
	escape := filepath.Join(os.TempDir(), "stockade-layer-escape.pkgs")
	res := walk(t, layer.WalkerOptions{},
		reg("../../etc/evil.pkgs", "evil 1"),
		reg("a/../../../"+strings.TrimPrefix(escape, "/"), "evil 2"),
		reg("/etc/abs.pkgs", "abs 1"),
		reg("./ok/../fine.pkgs", "fine 1"),
	)
	if got := names(res.Files["etc/abs.pkgs"]); !slices.Equal(got, []string{"abs@1"}) {
		t.Errorf("absolute entry: %q", got)
	}
	if got := names(res.Files["fine.pkgs"]); !slices.Equal(got, []string{"fine@1"}) {
		t.Errorf("cleaned entry: %q", got)
	}
	if len(res.Files) != 2 {
		t.Errorf("files = %v, want only the two contained entries", res.Files)
	}
	for _, w := range []string{`skip entry "../../etc/evil.pkgs": path climbs out`, `entry "/etc/abs.pkgs": absolute path`} {
		if !hasWarning(res, w) {
			t.Errorf("no warning %q in %q", w, res.Warnings)
		}
	}
	if _, err := os.Stat(escape); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists: the walker wrote outside its directory", escape)
	}
}

func TestSymlinks(t *testing.T) {
	res := walk(t, layer.WalkerOptions{},
		// Resolved inside the layer, before and after the target appears,
		// through a directory link and through an absolute link.
		symlink("opt/early.pkgs", "a.pkgs"),
		reg("opt/a.pkgs", "a 1"),
		symlink("opt/late.pkgs", "a.pkgs"),
		symlink("opt/viadir.pkgs", "d/b.pkgs"),
		symlink("opt/d", "/srv/real"),
		reg("srv/real/b.pkgs", "b 1"),
		// Pointing outside the image: an absolute path and a climb both
		// stay in the image root and name nothing in this layer. The host's
		// own dpkg database must never be read.
		symlink("var/lib/dpkg/status", "/var/lib/dpkg/status.host"),
		symlink("lib/apk/db/installed", "../../../../../../../../var/lib/dpkg/status"),
		// A loop, and a chain longer than the hop limit.
		symlink("loop/x.pkgs", "y.pkgs"),
		symlink("loop/y.pkgs", "x.pkgs"),
	)
	for p, want := range map[string][]string{
		"opt/a.pkgs":      {"a@1"},
		"opt/early.pkgs":  {"a@1"},
		"opt/late.pkgs":   {"a@1"},
		"opt/viadir.pkgs": {"b@1"},
		"srv/real/b.pkgs": {"b@1"},
		dpkg.StatusFile:   nil,
		apk.InstalledFile: nil,
		"loop/x.pkgs":     nil,
		"loop/y.pkgs":     nil,
	} {
		cs, ok := res.Files[p]
		if !ok {
			t.Errorf("%s: not recorded", p)
			continue
		}
		if got := names(cs); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
		for _, c := range cs {
			if c.Path != p {
				t.Errorf("%s: component path %s", p, c.Path)
			}
		}
	}
	for _, w := range []string{
		"symlink var/lib/dpkg/status: target var/lib/dpkg/status.host is not a matched file of this layer",
		"symlink lib/apk/db/installed: target var/lib/dpkg/status.host is not a matched file of this layer",
		"skip symlink loop/x.pkgs: more than 40 links",
	} {
		if !hasWarning(res, w) {
			t.Errorf("no warning %q in %q", w, res.Warnings)
		}
	}
}

func TestHardLinks(t *testing.T) {
	res := walk(t, layer.WalkerOptions{},
		reg("opt/a.pkgs", "a 1"),
		hardlink("opt/h.pkgs", "opt/a.pkgs"),
		hardlink("opt/hh.pkgs", "opt/h.pkgs"),
		reg("opt/plain.txt", "x 1"),
		hardlink("opt/fromplain.pkgs", "opt/plain.txt"),
		hardlink("opt/future.pkgs", "opt/later.pkgs"),
		hardlink("opt/out.pkgs", "../../../etc/passwd"),
		reg("opt/later.pkgs", "l 1"),
	)
	for p, want := range map[string][]string{
		"opt/h.pkgs":         {"a@1"},
		"opt/hh.pkgs":        {"a@1"},
		"opt/fromplain.pkgs": nil,
		"opt/future.pkgs":    nil,
		"opt/later.pkgs":     {"l@1"},
	} {
		if got := names(res.Files[p]); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	if _, ok := res.Files["opt/out.pkgs"]; ok {
		t.Error("hard link out of the root was recorded")
	}
	for _, w := range []string{
		"hard link opt/fromplain.pkgs: target opt/plain.txt is not a matched file",
		"hard link opt/future.pkgs: target opt/later.pkgs is not a matched file",
		`skip hard link opt/out.pkgs: target "../../../etc/passwd" is outside`,
	} {
		if !hasWarning(res, w) {
			t.Errorf("no warning %q in %q", w, res.Warnings)
		}
	}
}

func TestLaterEntryReplacesEarlierInSameLayer(t *testing.T) {
	res := walk(t, layer.WalkerOptions{},
		reg("opt/a.pkgs", "a 1"),
		reg("opt/a.pkgs", "a 2"),
		reg("opt/b.pkgs", "b 1"),
		symlink("opt/b.pkgs", "a.pkgs"),
		symlink("opt/c.pkgs", "a.pkgs"),
		reg("opt/c.pkgs", "c 1"),
	)
	for p, want := range map[string][]string{
		"opt/a.pkgs": {"a@2"}, "opt/b.pkgs": {"a@2"}, "opt/c.pkgs": {"c@1"},
	} {
		if got := names(res.Files[p]); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
}

func TestAnalyzerWarningsAndPanics(t *testing.T) {
	res := walk(t, layer.WalkerOptions{},
		reg("x.boom", "anything"),
		reg("w.pkgs", "good 1\nbad"),
		reg("after.pkgs", "after 1"),
	)
	if got := names(res.Files["w.pkgs"]); !slices.Equal(got, []string{"good@1"}) {
		t.Errorf("components kept next to a warning: %q", got)
	}
	if got, ok := res.Files["x.boom"]; !ok || len(got) != 0 {
		t.Errorf("panicking analyzer's file: %v, %v", got, ok)
	}
	if got := names(res.Files["after.pkgs"]); !slices.Equal(got, []string{"after@1"}) {
		t.Errorf("walk did not go on after the panic: %q", got)
	}
	for _, w := range []string{"boom: x.boom: analyzer panicked: hostile input", `lines: w.pkgs: bad line "bad"`} {
		if !hasWarning(res, w) {
			t.Errorf("no warning %q in %q", w, res.Warnings)
		}
	}
}

// TestSpoolAndTempDir checks that big files reach analyzers through a file in
// a private directory under TempDir, small ones from memory, that a path
// given out by LocalPath is inside that directory, and that nothing is left
// behind.
func TestSpoolAndTempDir(t *testing.T) {
	parent := t.TempDir()
	pr := &probe{seen: map[string]string{}, local: map[string]string{}}
	reg2 := registry(t, pr)
	w := layer.NewWalker(reg2, layer.WalkerOptions{
		TempDir: parent,
		Limits:  layer.Limits{MemThreshold: 1 << 20, MaxMemory: 3 << 20},
	})
	layerTar := streamTar(
		entry{Name: "small.big", Type: tar.TypeReg, Size: 1000},
		entry{Name: "huge.big", Type: tar.TypeReg, Size: 5 << 20},
		entry{Name: "m1.big", Type: tar.TypeReg, Size: 1 << 20},
		entry{Name: "m2.big", Type: tar.TypeReg, Size: 1 << 20},
		entry{Name: "m3.big", Type: tar.TypeReg, Size: 1 << 20}, // over MaxMemory: spooled
	)
	defer layerTar.Close()
	res, err := w.Walk(context.Background(), "sha256:bbbb", layerTar)
	if err != nil {
		t.Fatal(err)
	}
	for p, size := range map[string]int{"small.big": 1000, "huge.big": 5 << 20, "m1.big": 1 << 20, "m3.big": 1 << 20} {
		if got := res.Files[p]; len(got) != 1 || got[0].Version != fmt.Sprint(size) {
			t.Errorf("%s: %+v, want %d bytes seen", p, got, size)
		}
	}
	for p, wantMem := range map[string]bool{"small.big": true, "m1.big": true, "m2.big": true, "huge.big": false, "m3.big": false} {
		where := pr.seen[p]
		if (where == "memory") != wantMem {
			t.Errorf("%s reached the analyzer from %s", p, where)
		}
		if !wantMem && !strings.HasPrefix(where, parent+string(os.PathSeparator)) {
			t.Errorf("%s spooled to %s, outside %s", p, where, parent)
		}
		if !strings.HasPrefix(pr.local[p], parent+string(os.PathSeparator)) {
			t.Errorf("%s: LocalPath %s outside %s", p, pr.local[p], parent)
		}
	}
	// Each spool file and local copy is gone once its file is analyzed.
	if pr.maxLeft != 1 {
		t.Errorf("up to %d files at once in the private directory, want 1", pr.maxLeft)
	}
	left, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("private temporary directory left behind: %v", left)
	}
}

func TestLinksToSpooledFiles(t *testing.T) {
	pr := &probe{seen: map[string]string{}, local: map[string]string{}}
	w := layer.NewWalker(registry(t, pr), layer.WalkerOptions{Limits: layer.Limits{MemThreshold: 1000}})
	data := tarball(t,
		entry{Name: "a.big", Type: tar.TypeReg, Size: 5000},
		hardlink("b.big", "a.big"),
		entry{Name: "small.big", Type: tar.TypeReg, Size: 10},
		hardlink("c.big", "small.big"),
	)
	res, err := w.Walk(context.Background(), "sha256:eeee", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files["c.big"]; len(got) != 1 || got[0].Version != "10" {
		t.Errorf("hard link to a small file: %+v", got)
	}
	if got, ok := res.Files["b.big"]; !ok || len(got) != 0 {
		t.Errorf("hard link to a spooled file: %+v, %v", got, ok)
	}
	if !hasWarning(res, "hard link b.big: target a.big is too large to keep for links") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestSymlinkMemoryBound(t *testing.T) {
	var es []entry
	for i := range 200 {
		es = append(es, symlink(fmt.Sprintf("l/%03d", i), strings.Repeat("x", 100)))
	}
	es = append(es, reg("a.pkgs", "a 1"), symlink("late.pkgs", "a.pkgs"))
	res := walk(t, layer.WalkerOptions{Limits: layer.Limits{MaxMemory: 4096}}, es...)
	if !hasWarning(res, "symlinks take more than 4096 bytes") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if got, ok := res.Files["late.pkgs"]; !ok || len(got) != 0 {
		t.Errorf("unresolved matched symlink: %v %v; want an empty entry", got, ok)
	}
}

func TestLimits(t *testing.T) {
	t.Run("decompression bomb", func(t *testing.T) {
		// 1 GiB of zeros behind a matched file: the walk stops at 4 MiB.
		w := layer.NewWalker(registry(t), layer.WalkerOptions{Limits: layer.Limits{MaxLayerBytes: 4 << 20}})
		r := streamTar(reg("first.pkgs", "first 1"), entry{Name: "bomb.bin", Type: tar.TypeReg, Size: 1 << 30}, reg("after.pkgs", "after 1"))
		defer r.Close()
		res, err := w.Walk(context.Background(), "sha256:cccc", r)
		if err != nil {
			t.Fatal(err)
		}
		if !hasWarning(res, "stopped after 4194304 bytes") {
			t.Errorf("warnings = %q", res.Warnings)
		}
		if len(res.Files["first.pkgs"]) != 1 || res.Files["after.pkgs"] != nil {
			t.Errorf("files = %v", res.Files)
		}
	})
	t.Run("bomb inside a matched file", func(t *testing.T) {
		parent := t.TempDir()
		w := layer.NewWalker(registry(t), layer.WalkerOptions{TempDir: parent, Limits: layer.Limits{MaxLayerBytes: 4 << 20, MemThreshold: 1 << 20}})
		r := streamTar(entry{Name: "x.pkgs", Type: tar.TypeReg, Size: 100 << 20})
		defer r.Close()
		res, err := w.Walk(context.Background(), "sha256:cccc", r)
		if err != nil || !hasWarning(res, "stopped after") {
			t.Fatalf("Walk = %v, %q", err, res.Warnings)
		}
		if left, _ := os.ReadDir(parent); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	t.Run("giant file", func(t *testing.T) {
		w := layer.NewWalker(registry(t), layer.WalkerOptions{Limits: layer.Limits{MaxFileSize: 1 << 20}})
		r := streamTar(entry{Name: "var/lib/dpkg/status", Type: tar.TypeReg, Size: 2 << 20}, reg("after.pkgs", "after 1"))
		defer r.Close()
		res, err := w.Walk(context.Background(), "sha256:cccc", r)
		if err != nil {
			t.Fatal(err)
		}
		if !hasWarning(res, "skip var/lib/dpkg/status: 2097152 bytes is over the per-file limit of 1048576") {
			t.Errorf("warnings = %q", res.Warnings)
		}
		if got, ok := res.Files[dpkg.StatusFile]; !ok || len(got) != 0 {
			t.Errorf("skipped database: %v %v; want an empty entry hiding earlier layers", got, ok)
		}
		if len(res.Files["after.pkgs"]) != 1 {
			t.Error("walk did not go on after the giant file")
		}
	})
	t.Run("too many entries", func(t *testing.T) {
		var es []entry
		for i := range 150 {
			es = append(es, reg(fmt.Sprintf("f%03d.pkgs", i), fmt.Sprintf("p%d 1", i)))
		}
		w := layer.NewWalker(registry(t), layer.WalkerOptions{Limits: layer.Limits{MaxEntries: 100}})
		res, err := w.Walk(context.Background(), "sha256:cccc", bytes.NewReader(tarball(t, es...)))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Files) != 100 || !hasWarning(res, "stopped after 100 entries") {
			t.Errorf("files %d, warnings %q", len(res.Files), res.Warnings)
		}
	})
	t.Run("warnings are bounded", func(t *testing.T) {
		var es []entry
		for i := range 500 {
			es = append(es, reg(fmt.Sprintf("../x%d", i), ""))
		}
		res := walk(t, layer.WalkerOptions{}, es...)
		if len(res.Warnings) != 101 || res.Warnings[100] != "400 more warnings not shown" {
			t.Errorf("%d warnings, last %q", len(res.Warnings), res.Warnings[len(res.Warnings)-1])
		}
	})
}

func TestBrokenStreams(t *testing.T) {
	good := tarball(t, reg("a.pkgs", "a 1"), reg("b.pkgs", strings.Repeat("b 1\n", 1000)))
	w := layer.NewWalker(registry(t), layer.WalkerOptions{})
	for name, data := range map[string][]byte{
		"truncated":  good[:2000], // inside b.pkgs
		"not a tar":  []byte(strings.Repeat("this is not a tar archive\n", 100)),
		"gzip bytes": {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.Walk(context.Background(), "sha256:dddd", bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), "walk layer sha256:dddd") {
				t.Fatalf("Walk error = %v, want one naming the layer", err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := w.Walk(ctx, "sha256:dddd", bytes.NewReader(good))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Walk error = %v, want context.Canceled", err)
		}
	})
	t.Run("empty layer", func(t *testing.T) {
		res, err := w.Walk(context.Background(), "sha256:dddd", bytes.NewReader(tarball(t)))
		if err != nil || len(res.Files) != 0 || res.Files == nil {
			t.Fatalf("Walk(empty) = %+v, %v", res, err)
		}
	})
}

func TestRegistry(t *testing.T) {
	if _, err := layer.NewRegistry(dpkg.New(), dpkg.New()); err == nil {
		t.Error("duplicate analyzer names accepted")
	}
	if _, err := layer.NewRegistry(named("osrelease")); err == nil {
		t.Error("reserved name accepted")
	}
	if _, err := layer.NewRegistry(named("")); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := layer.NewRegistry(nil); err == nil {
		t.Error("nil analyzer accepted")
	}
	r := registry(t)
	if got := r.Names(); !slices.Equal(got, []string{"apk", "boom", "dpkg", "lines", "osrelease"}) {
		t.Errorf("Names = %q", got)
	}
}

type named string

func (n named) Name() string                                                   { return string(n) }
func (named) Version() int                                                     { return 1 }
func (named) Match(string, fs.FileMode, int64) bool                            { return false }
func (named) Analyze(context.Context, layer.File) ([]catalog.Component, error) { return nil, nil }
