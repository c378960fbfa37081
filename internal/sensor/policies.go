package sensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/policy"
)

// PolicyCacheFile is the file in --cache-dir holding the last policy set.
const PolicyCacheFile = "policies.json"

// maxPolicyCache bounds the cache file read at start.
const maxPolicyCache = 64 << 20

// policyCache is the file format of the cached policy set.
type policyCache struct {
	Generation uint64          `json:"generation"`
	SavedAt    time.Time       `json:"savedAt"`
	Policies   json.RawMessage `json:"policies"`
}

// policies is the compiled policy set admission control and detection
// share: swapped whole through an atomic pointer, so readers never wait
// and never see half a set.
type policies struct {
	set   atomic.Pointer[policy.Set]
	gen   atomic.Uint64
	count atomic.Int64
	log   *slog.Logger
	// file is the cache file, "" when nothing is cached.
	file string
	// changed is told when a new set is in place (the Detector).
	changed func()

	mu  sync.Mutex // serializes apply
	doc []byte     // policies_json of the set in place
}

func newPolicies(cacheDir string, log *slog.Logger) *policies {
	p := &policies{log: log}
	if cacheDir != "" {
		p.file = filepath.Join(cacheDir, PolicyCacheFile)
	}
	return p
}

// Set is the set in place, nil before the first one: admission.Policies
// and detect.Policies.
func (p *policies) Set() *policy.Set { return p.set.Load() }

// load puts the cached set in place, if there is one. A missing file is
// not an error.
func (p *policies) load() error {
	if p.file == "" {
		return nil
	}
	f, err := os.Open(p.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read policy cache: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only file
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyCache+1))
	if err != nil {
		return fmt.Errorf("read policy cache %s: %w", p.file, err)
	}
	if len(data) > maxPolicyCache {
		return fmt.Errorf("read policy cache %s: larger than %d bytes", p.file, maxPolicyCache)
	}
	var c policyCache
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("read policy cache %s: %w", p.file, err)
	}
	n, err := p.install(c.Generation, c.Policies, "policy cache "+p.file)
	if err != nil {
		return err
	}
	p.log.Info("policy set loaded from cache", "path", p.file, "generation", c.Generation, "policies", n, "saved_at", c.SavedAt)
	return nil
}

// apply puts a set Central pushed in place and caches it. A set that
// cannot be read at all leaves the one in place; a policy that cannot be
// read or compiled (a newer Central's) is left out with a warning.
func (p *policies) apply(ps *sensorv1.PolicySync) {
	doc := ps.GetPoliciesJson()
	p.mu.Lock()
	same := p.doc != nil && bytes.Equal(p.doc, doc)
	p.mu.Unlock()
	if same {
		p.gen.Store(ps.GetGeneration())
		return
	}
	n, err := p.install(ps.GetGeneration(), doc, "policy set from central")
	if err != nil {
		p.log.Error("policy set from central not applied; keeping the one in place", "generation", ps.GetGeneration(), "err", err)
		return
	}
	p.log.Info("policy set applied", "generation", ps.GetGeneration(), "policies", n)
	if err := p.save(ps.GetGeneration(), doc); err != nil {
		p.log.Warn("policy set not cached", "err", err)
	}
}

// install compiles doc (a JSON array of ACS policies) and puts it in
// place, returning how many policies it holds.
func (p *policies) install(gen uint64, doc []byte, source string) (int, error) {
	set, n, err := compile(doc, source, p.log)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	p.set.Store(set)
	p.gen.Store(gen)
	p.count.Store(int64(n))
	p.doc = bytes.Clone(doc)
	p.mu.Unlock()
	if p.changed != nil {
		p.changed()
	}
	return n, nil
}

// compile reads a JSON array of policies one by one, so that one policy
// this Sensor cannot read or compile costs only that policy.
func compile(doc []byte, source string, log *slog.Logger) (*policy.Set, int, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, 0, fmt.Errorf("%s: want a JSON array of policies: %w", source, err)
	}
	var ps []*policy.Policy
	for i, r := range raw {
		where := fmt.Sprintf("%s: policy #%d", source, i+1)
		parsed, err := policy.Parse(where, r)
		if err != nil {
			log.Warn("policy skipped", "source", source, "index", i+1, "err", err)
			continue
		}
		for _, pol := range parsed {
			if _, err := policy.Compile(pol); err != nil {
				log.Warn("policy skipped", "source", source, "index", i+1, "policy", pol.Name, "err", err)
				continue
			}
			ps = append(ps, pol)
		}
	}
	if len(raw) > 0 && len(ps) == 0 {
		return nil, 0, fmt.Errorf("%s: none of its %d policies could be read", source, len(raw))
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", source, err)
	}
	return set, len(ps), nil
}

// save writes the set to the cache file: to a temporary file renamed over
// it, so that a crash never leaves half a cache.
func (p *policies) save(gen uint64, doc []byte) error {
	if p.file == "" {
		return nil
	}
	data, err := json.Marshal(policyCache{Generation: gen, SavedAt: time.Now().UTC(), Policies: doc})
	if err != nil {
		return fmt.Errorf("encode policy cache: %w", err)
	}
	dir := filepath.Dir(p.file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cache dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+PolicyCacheFile+".*")
	if err != nil {
		return fmt.Errorf("write policy cache %s: %w", p.file, err)
	}
	name := tmp.Name()
	defer os.Remove(name) //nolint:errcheck // gone after the rename; removing a leftover loses nothing
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write policy cache %s: %w", p.file, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write policy cache %s: %w", p.file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write policy cache %s: %w", p.file, err)
	}
	if err := os.Rename(name, p.file); err != nil {
		return fmt.Errorf("write policy cache %s: %w", p.file, err)
	}
	return nil
}
