package layer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Cache keeps layer results by layer digest. A result is valid only for the
// analyzer version set that produced it: Get with another set is a miss.
type Cache interface {
	Get(ctx context.Context, digest string, versions map[string]int) (catalog.LayerResult, bool)
	Put(ctx context.Context, res catalog.LayerResult) error
}

// FSCache is a Cache of one JSON file per layer digest in a directory. Writes
// are atomic (temporary file and rename), so concurrent scanners and crashes
// leave either the old result or the new one; an unreadable file is a miss
// and is overwritten by the next Put.
type FSCache struct {
	dir string
}

// NewFSCache uses dir, creating it (mode 0700) when missing.
func NewFSCache(dir string) (*FSCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create layer cache %s: %w", dir, err)
	}
	return &FSCache{dir: dir}, nil
}

// digestPattern is the OCI digest grammar; it also keeps file names inside
// the cache directory.
var digestPattern = regexp.MustCompile(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

func (c *FSCache) file(digest string) (string, error) {
	if len(digest) > 256 || !digestPattern.MatchString(digest) {
		return "", fmt.Errorf("layer digest %q: not an OCI digest", digest)
	}
	alg, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(c.dir, alg+"-"+hex+".json"), nil
}

// Get returns the cached result for digest when it was produced by exactly
// the given analyzer versions.
func (c *FSCache) Get(_ context.Context, digest string, versions map[string]int) (catalog.LayerResult, bool) {
	name, err := c.file(digest)
	if err != nil {
		return catalog.LayerResult{}, false
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return catalog.LayerResult{}, false
	}
	var res catalog.LayerResult
	if err := json.Unmarshal(data, &res); err != nil {
		return catalog.LayerResult{}, false
	}
	if res.Digest != digest || !maps.Equal(res.AnalyzerVersions, versions) {
		return catalog.LayerResult{}, false
	}
	if res.Files == nil {
		res.Files = map[string][]catalog.Component{}
	}
	return res, true
}

// Put stores res under its digest, replacing any earlier result.
func (c *FSCache) Put(_ context.Context, res catalog.LayerResult) (err error) {
	name, err := c.file(res.Digest)
	if err != nil {
		return err
	}
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode layer result %s: %w", res.Digest, err)
	}
	f, err := os.CreateTemp(c.dir, ".put-*")
	if err != nil {
		return fmt.Errorf("cache layer %s: %w", res.Digest, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("cache layer %s: write %s: %w", res.Digest, f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cache layer %s: close %s: %w", res.Digest, f.Name(), err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("cache layer %s: %w", res.Digest, err)
	}
	return nil
}

// Delete removes the cached result for digest; a missing entry is not an
// error.
func (c *FSCache) Delete(digest string) error {
	name, err := c.file(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete cached layer %s: %w", digest, err)
	}
	return nil
}
