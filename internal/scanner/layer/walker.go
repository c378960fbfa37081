package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/osrelease"
)

// Limits bound what one layer walk may consume. A layer that reaches a limit
// is not an error: the walk stops (or skips the file) and says so in a
// warning, and the result is marked incomplete so that it is not cached.
type Limits struct {
	// MaxLayerBytes bounds the uncompressed bytes read from one layer
	// stream, file contents and tar headers alike (decompression bombs).
	MaxLayerBytes int64
	// MaxFileSize is the largest matched file analyzed; bigger ones are
	// skipped with a warning.
	MaxFileSize int64
	// MaxEntries bounds the number of tar entries in one layer.
	MaxEntries int
	// MemThreshold is the largest file held in memory; bigger matched files
	// are spooled to the private temporary directory.
	MemThreshold int64
	// MaxMemory bounds the matched file content held in memory during one
	// walk (past it, files are spooled even when small), and separately the
	// symlink names kept for resolving links within the layer.
	MaxMemory int64
}

// DefaultLimits fit real images (the largest layers of common images hold a
// few GiB and a few hundred thousand files) with room to spare.
func DefaultLimits() Limits {
	return Limits{
		MaxLayerBytes: 16 << 30,
		MaxFileSize:   1 << 30,
		MaxEntries:    1 << 20,
		MemThreshold:  8 << 20,
		MaxMemory:     64 << 20,
	}
}

// WalkerOptions configure a Walker; zero fields take their defaults.
type WalkerOptions struct {
	Limits Limits
	// TempDir is where the walker creates its private temporary directory
	// (one per walk, removed when the walk ends); default os.TempDir().
	TempDir string
	Logger  *slog.Logger
}

// Walker reduces one layer's tar stream to a catalog.LayerResult. It is safe
// for concurrent use; each Walk has its own state.
//
// Containment: the walker never creates a file named after an entry and never
// follows a link on the host. Entry names are cleaned; absolute names are
// taken relative to the image root (as container runtimes do) and names that
// climb out of the root are skipped with a warning. Links are resolved only
// inside the layer, as in a chroot: absolute targets start at the image root
// and ".." stops at it, so a link can never reach outside the image; a chain
// of more than 40 links is reported as a loop. A symlink or hard link at a
// matched path is analyzed with its target's content when the target is a
// matched file of the same layer; otherwise the link hides whatever earlier
// layers had at that path. Directory symlinks are not followed for package
// databases: analyzers match the real location too (the rpm analyzer matches
// both var/lib/rpm and usr/lib/sysimage/rpm).
type Walker struct {
	reg    Registry
	limits Limits
	tmp    string
	log    *slog.Logger
}

// NewWalker returns a Walker running the registry's analyzers.
func NewWalker(reg Registry, opts WalkerOptions) *Walker {
	def := DefaultLimits()
	l := opts.Limits
	if l.MaxLayerBytes <= 0 {
		l.MaxLayerBytes = def.MaxLayerBytes
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = def.MaxFileSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = def.MaxEntries
	}
	if l.MemThreshold <= 0 {
		l.MemThreshold = def.MemThreshold
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = def.MaxMemory
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Walker{reg: reg, limits: l, tmp: opts.TempDir, log: log}
}

// Versions is the analyzer version set of the walker's results.
func (w *Walker) Versions() map[string]int { return w.reg.Versions() }

// Walk reads the uncompressed tar stream of the layer with the given digest
// once, in order, and returns what its files contain. Limits reached and
// hostile entries are warnings in the result; an error means the stream could
// not be read (truncated, not a tar, cancelled).
func (w *Walker) Walk(ctx context.Context, digest string, r io.Reader) (catalog.LayerResult, error) {
	res, _, err := w.walk(ctx, digest, r)
	return res, err
}

// walk also reports whether the result is complete (no limit was reached);
// only complete results are cached.
func (w *Walker) walk(ctx context.Context, digest string, r io.Reader) (res catalog.LayerResult, complete bool, err error) {
	wk := &walk{
		w:        w,
		ctx:      ctx,
		digest:   digest,
		retained: map[string]*content{},
		spilled:  map[string]bool{},
		symlinks: map[string]string{},
		osFiles:  map[string][]byte{},
		res: catalog.LayerResult{
			Digest:           digest,
			AnalyzerVersions: w.reg.Versions(),
			Files:            map[string][]catalog.Component{},
		},
		complete: true,
	}
	defer func() {
		if cerr := wk.cleanup(); cerr != nil && err == nil {
			err = fmt.Errorf("walk layer %s: %w", digest, cerr)
		}
	}()
	if err := wk.run(r); err != nil {
		return catalog.LayerResult{}, false, fmt.Errorf("walk layer %s: %w", digest, err)
	}
	wk.finish()
	w.log.Debug("layer walked", "digest", digest, "entries", wk.entries, "bytes", wk.counter.n,
		"files", len(wk.res.Files), "complete", wk.complete)
	return wk.res, wk.complete, nil
}

// maxLinkHops bounds link resolution, as the kernel's MAXSYMLINKS does.
const maxLinkHops = 40

// maxWarnings bounds the warnings one layer can produce.
const maxWarnings = 100

var errLayerLimit = errors.New("layer byte limit reached")

// countingReader bounds and counts the bytes read from the layer stream and
// stops promptly on cancellation.
type countingReader struct {
	ctx   context.Context
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if c.n >= c.limit {
		return 0, errLayerLimit
	}
	if rem := c.limit - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// content is a matched file's bytes, in memory or spooled. Spool files live
// only while their file is analyzed, so the walk holds at most one of them
// (and one open descriptor) at a time; in-memory content is kept until the
// end of the walk for links that point to it.
type content struct {
	mem   []byte
	file  *os.File
	size  int64
	mode  fs.FileMode
	local string // LocalPath's copy of in-memory content, while analyzed
}

func (c *content) readerAt() io.ReaderAt {
	if c.file != nil {
		return c.file
	}
	return byteReaderAt(c.mem)
}

type byteReaderAt []byte

func (b byteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type walk struct {
	w       *Walker
	ctx     context.Context
	digest  string
	res     catalog.LayerResult
	counter countingReader

	tmpDir   string // private temporary directory, created on first use
	memUsed  int64
	entries  int
	complete bool
	dropped  int // warnings over maxWarnings

	retained  map[string]*content // matched files of this layer held in memory, for links
	spilled   map[string]bool     // matched files too big to keep for links
	linkMem   int64               // bytes of symlink names and targets kept
	linksFull bool
	symlinks  map[string]string // every symlink of this layer: path → target
	pending   []string          // matched symlinks, resolved at the end
	osFiles   map[string][]byte
}

func (wk *walk) warnf(format string, args ...any) {
	if len(wk.res.Warnings) >= maxWarnings {
		wk.dropped++
		return
	}
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 1024 {
		msg = msg[:1024] + "…"
	}
	wk.res.Warnings = append(wk.res.Warnings, msg)
}

func (wk *walk) run(r io.Reader) error {
	wk.counter = countingReader{ctx: wk.ctx, r: r, limit: wk.w.limits.MaxLayerBytes}
	tr := tar.NewReader(&wk.counter)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wk.streamErr(err)
		}
		wk.entries++
		if wk.entries > wk.w.limits.MaxEntries {
			wk.complete = false
			wk.warnf("stopped after %d entries: the layer has more than the limit", wk.w.limits.MaxEntries)
			return nil
		}
		stop, err := wk.entry(tr, hdr)
		if err != nil {
			return wk.streamErr(err)
		}
		if stop {
			return nil
		}
	}
}

// streamErr turns the byte limit into a warning and everything else into the
// walk's error.
func (wk *walk) streamErr(err error) error {
	if errors.Is(err, errLayerLimit) || wk.counter.n >= wk.counter.limit {
		wk.complete = false
		wk.warnf("stopped after %d bytes: the layer is larger than the limit (decompression bomb?)", wk.counter.limit)
		return nil
	}
	if cerr := wk.ctx.Err(); cerr != nil {
		return cerr
	}
	return fmt.Errorf("read tar entry %d: %w", wk.entries+1, err)
}

// cleanName turns a tar entry name into a path relative to the image root.
// ok is false for names that climb out of the root.
func cleanName(name string) (p string, abs, ok bool) {
	abs = strings.HasPrefix(name, "/")
	c := path.Clean(name)
	if !abs && (c == ".." || strings.HasPrefix(c, "../")) {
		return "", false, false
	}
	c = strings.TrimLeft(c, "/")
	if c == "." {
		c = ""
	}
	return c, abs, true
}

// entry handles one tar entry. stop reports a limit reached mid-entry.
func (wk *walk) entry(tr *tar.Reader, hdr *tar.Header) (stop bool, err error) {
	name, abs, ok := cleanName(hdr.Name)
	if !ok {
		wk.warnf("skip entry %q: path climbs out of the image root", short(hdr.Name))
		return false, nil
	}
	if abs {
		wk.warnf("entry %q: absolute path taken relative to the image root", short(hdr.Name))
	}
	if name == "" {
		return false, nil
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if strings.HasPrefix(base, ".wh.") {
		wk.whiteout(dir, base)
		return false, nil
	}
	if hdr.Typeflag == tar.TypeDir {
		return false, nil
	}
	// Any other entry replaces what this layer wrote at the path before.
	delete(wk.res.Files, name)
	delete(wk.retained, name)
	delete(wk.spilled, name)
	delete(wk.symlinks, name)
	delete(wk.osFiles, name)

	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont: //nolint:staticcheck // TypeRegA: old writers still emit it
		return wk.regular(tr, name, mode, hdr.Size)
	case tar.TypeSymlink:
		matched := osrelease.Match(name) || len(wk.matching(name, fs.ModeSymlink|mode, 0)) > 0
		wk.linkMem += int64(len(name) + len(hdr.Linkname))
		if wk.linkMem > wk.w.limits.MaxMemory {
			if !wk.linksFull {
				wk.linksFull = true
				wk.warnf("symlinks take more than %d bytes; later symlinks are not resolved", wk.w.limits.MaxMemory)
			}
			if matched {
				wk.res.Files[name] = []catalog.Component{}
			}
			return false, nil
		}
		wk.symlinks[name] = hdr.Linkname
		if matched {
			wk.pending = append(wk.pending, name)
		}
	case tar.TypeLink:
		wk.hardlink(name, hdr.Linkname, mode)
	}
	return false, nil
}

func (wk *walk) whiteout(dir, base string) {
	switch {
	case base == ".wh..wh..opq":
		wk.res.OpaqueDirs = append(wk.res.OpaqueDirs, dir)
	case strings.HasPrefix(base, ".wh..wh."):
		// aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content.
	case base == ".wh.":
		wk.warnf("skip whiteout %q: no name", path.Join(dir, base))
	default:
		wk.res.Whiteouts = append(wk.res.Whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
	}
}

func (wk *walk) matching(name string, mode fs.FileMode, size int64) []Analyzer {
	var out []Analyzer
	for _, a := range wk.w.reg.analyzers {
		if a.Match(name, mode, size) {
			out = append(out, a)
		}
	}
	return out
}

func (wk *walk) regular(r io.Reader, name string, mode fs.FileMode, size int64) (bool, error) {
	isOS := osrelease.Match(name)
	as := wk.matching(name, mode, size)
	if !isOS && len(as) == 0 {
		return false, nil
	}
	if size > wk.w.limits.MaxFileSize {
		wk.warnf("skip %s: %d bytes is over the per-file limit of %d", name, size, wk.w.limits.MaxFileSize)
		if len(as) > 0 {
			wk.res.Files[name] = []catalog.Component{}
		}
		return false, nil
	}
	c, err := wk.read(r, size)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	c.mode = mode
	if isOS {
		wk.osFile(name, c)
	}
	var aerr error
	if len(as) > 0 {
		aerr = wk.analyze(name, c, as)
	}
	if c.file != nil {
		wk.spilled[name] = true
		return false, errors.Join(aerr, wk.release(c))
	}
	if aerr != nil {
		return false, aerr
	}
	wk.retained[name] = c
	return false, nil
}

// release removes a spool file once its content has been analyzed.
func (wk *walk) release(c *content) error {
	f := c.file
	c.file = nil
	cerr := f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("remove spool file: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("close spool file: %w", cerr)
	}
	return nil
}

func (wk *walk) osFile(name string, c *content) {
	if c.size > osrelease.MaxSize {
		wk.warnf("skip %s: %d bytes is too large for an OS release file", name, c.size)
		return
	}
	buf := make([]byte, c.size)
	if _, err := c.readerAt().ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		wk.warnf("skip %s: %v", name, err)
		return
	}
	wk.osFiles[name] = buf
}

// read takes the next size bytes of the entry into memory or, past the
// thresholds, into a spool file in the private temporary directory.
func (wk *walk) read(r io.Reader, size int64) (*content, error) {
	l := wk.w.limits
	if size <= l.MemThreshold && wk.memUsed+size <= l.MaxMemory {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		wk.memUsed += size
		return &content{mem: buf, size: size}, nil
	}
	f, err := wk.tempFile("spool-*")
	if err != nil {
		return nil, err
	}
	c := &content{file: f, size: size}
	if _, err := io.CopyN(f, r, size); err != nil {
		return nil, errors.Join(err, wk.release(c))
	}
	return c, nil
}

func (wk *walk) tempFile(pattern string) (*os.File, error) {
	if wk.tmpDir == "" {
		dir, err := os.MkdirTemp(wk.w.tmp, "stockade-layer-*")
		if err != nil {
			return nil, fmt.Errorf("create temporary directory: %w", err)
		}
		wk.tmpDir = dir
	}
	f, err := os.CreateTemp(wk.tmpDir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	return f, nil
}

// localPath writes in-memory content to the private directory for analyzers
// whose libraries open paths.
func (wk *walk) localPath(c *content) (string, error) {
	if c.file != nil {
		return c.file.Name(), nil
	}
	if c.local != "" {
		return c.local, nil
	}
	f, err := wk.tempFile("local-*")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(c.mem)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return "", errors.Join(fmt.Errorf("write %s: %w", f.Name(), err), os.Remove(f.Name()))
	}
	c.local = f.Name()
	return c.local, nil
}

func (wk *walk) analyze(name string, c *content, as []Analyzer) error {
	comps := []catalog.Component{}
	for _, a := range as {
		f := File{
			Path:      name,
			Mode:      c.mode,
			Size:      c.size,
			Content:   c.readerAt(),
			LocalPath: func() (string, error) { return wk.localPath(c) },
		}
		cs, err := runAnalyzer(wk.ctx, a, f)
		if err != nil {
			if cerr := wk.ctx.Err(); cerr != nil {
				return cerr
			}
			var w *Warning
			if errors.As(err, &w) {
				for _, m := range w.Msgs {
					wk.warnf("%s: %s: %s", a.Name(), name, m)
				}
			} else {
				wk.warnf("%s: %s: %v", a.Name(), name, err)
				continue
			}
		}
		for _, comp := range cs {
			if comp.Path == "" {
				comp.Path = name
			}
			comp.Layer = wk.digest
			comps = append(comps, comp)
		}
	}
	wk.res.Files[name] = comps
	if c.local != "" {
		err := os.Remove(c.local)
		c.local = ""
		if err != nil {
			return fmt.Errorf("remove local copy: %w", err)
		}
	}
	return nil
}

// runAnalyzer contains a panicking analyzer (a parser library choking on a
// hostile file) to a warning about that file.
func runAnalyzer(ctx context.Context, a Analyzer, f File) (cs []catalog.Component, err error) {
	defer func() {
		if r := recover(); r != nil {
			cs, err = nil, fmt.Errorf("analyzer panicked: %v", r)
		}
	}()
	return a.Analyze(ctx, f)
}

func (wk *walk) hardlink(name, linkname string, mode fs.FileMode) {
	target, _, ok := cleanName(linkname)
	if !ok || target == "" {
		wk.warnf("skip hard link %s: target %q is outside the image root", name, short(linkname))
		return
	}
	if data, isOS := wk.osFiles[target]; isOS && osrelease.Match(name) {
		wk.osFiles[name] = data
	}
	c, have := wk.retained[target]
	if !have {
		if as := wk.matching(name, mode, 0); len(as) > 0 {
			wk.warnf("hard link %s: %s; not analyzed", name, wk.unavailable(target))
			wk.res.Files[name] = []catalog.Component{}
		}
		return
	}
	if as := wk.matching(name, c.mode, c.size); len(as) > 0 {
		wk.retained[name] = c
		if err := wk.analyze(name, c, as); err != nil {
			wk.warnf("hard link %s: %v", name, err)
		}
	}
}

// unavailable says why a link target's content cannot be analyzed.
func (wk *walk) unavailable(target string) string {
	if wk.spilled[target] {
		return fmt.Sprintf("target %s is too large to keep for links", target)
	}
	return fmt.Sprintf("target %s is not a matched file of this layer", target)
}

// short keeps hostile names from filling warnings.
func short(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}

// resolve follows the symlink at p through the symlinks of this layer,
// chroot-style: absolute targets restart at the image root, ".." stops at it.
func (wk *walk) resolve(p string) (string, error) {
	var done []string
	todo := strings.Split(p, "/")
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cand := strings.Join(append(done, c), "/")
		target, isLink := wk.symlinks[cand]
		if !isLink {
			done = append(done, c)
			continue
		}
		hops++
		if hops > maxLinkHops {
			return "", fmt.Errorf("more than %d links (a loop?)", maxLinkHops)
		}
		if strings.HasPrefix(target, "/") {
			done = done[:0]
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return strings.Join(done, "/"), nil
}

// finish resolves matched symlinks, detects the OS and orders the result.
func (wk *walk) finish() {
	for _, name := range wk.pending {
		if _, still := wk.symlinks[name]; !still {
			continue // a later entry of this layer replaced the link
		}
		target, err := wk.resolve(name)
		if err != nil {
			wk.warnf("skip symlink %s: %v", name, err)
			if len(wk.matching(name, fs.ModeSymlink, 0)) > 0 {
				wk.res.Files[name] = []catalog.Component{}
			}
			continue
		}
		if data, ok := wk.osFiles[target]; ok && osrelease.Match(name) {
			wk.osFiles[name] = data
		}
		as := wk.matching(name, fs.ModeSymlink, 0)
		if len(as) == 0 {
			continue
		}
		c, ok := wk.retained[target]
		if !ok {
			// The target is in an earlier layer or not a matched file: the
			// link still hides what earlier layers had at this path.
			wk.warnf("symlink %s: %s; not analyzed", name, wk.unavailable(target))
			wk.res.Files[name] = []catalog.Component{}
			continue
		}
		if as = wk.matching(name, c.mode, c.size); len(as) == 0 {
			wk.res.Files[name] = []catalog.Component{}
			continue
		}
		if err := wk.analyze(name, c, as); err != nil {
			wk.warnf("symlink %s: %v", name, err)
		}
	}
	if len(wk.osFiles) > 0 {
		os, err := osrelease.Detect(wk.osFiles)
		if err != nil {
			wk.warnf("%v", err)
		}
		wk.res.OS = os
	}
	wk.res.Whiteouts = sortedUnique(wk.res.Whiteouts)
	wk.res.OpaqueDirs = sortedUnique(wk.res.OpaqueDirs)
	if wk.dropped > 0 {
		wk.res.Warnings = append(wk.res.Warnings, fmt.Sprintf("%d more warnings not shown", wk.dropped))
	}
}

func (wk *walk) cleanup() error {
	var errs []error
	if wk.tmpDir != "" {
		if err := os.RemoveAll(wk.tmpDir); err != nil {
			errs = append(errs, fmt.Errorf("remove temporary directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
