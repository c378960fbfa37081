package sensor

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/policy"
)

// logBuffer captures a logger's output.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// builtinDoc is the built-in policy set as Central pushes it (a JSON array
// of policies), with edit applied to each policy first.
func builtinDoc(t testing.TB, edit func(p *policy.Policy)) []byte {
	t.Helper()
	ps, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		for _, p := range ps {
			edit(p)
		}
	}
	doc, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestPoliciesApplyAndCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	log, logs := logBuffer()
	p := newPolicies(dir, log)
	changed := 0
	p.changed = func() { changed++ }
	if p.Set() != nil {
		t.Fatal("a set before any was loaded")
	}
	if err := p.load(); err != nil {
		t.Fatalf("load without a cache file: %v", err)
	}

	doc := builtinDoc(t, nil)
	builtins, _ := policy.Builtin()
	p.apply(&sensorv1.PolicySync{Generation: 7, PoliciesJson: doc})
	if s := p.Set(); s == nil || len(s.Policies()) != len(builtins) {
		t.Fatalf("set after apply: %v policies, want %d\n%s", s, len(builtins), logs)
	}
	if changed != 1 || p.gen.Load() != 7 || p.count.Load() != int64(len(builtins)) {
		t.Errorf("changed = %d, generation = %d, count = %d", changed, p.gen.Load(), p.count.Load())
	}
	// The same set again (every reconnect) changes nothing.
	first := p.Set()
	p.apply(&sensorv1.PolicySync{Generation: 7, PoliciesJson: doc})
	if p.Set() != first || changed != 1 {
		t.Errorf("the same set was installed again (changed = %d)", changed)
	}

	// A restarted Sensor starts with the cached set.
	info, err := os.Stat(filepath.Join(dir, PolicyCacheFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", info.Mode().Perm())
	}
	again := newPolicies(dir, log)
	if err := again.load(); err != nil {
		t.Fatal(err)
	}
	if s := again.Set(); s == nil || len(s.Policies()) != len(builtins) || again.gen.Load() != 7 {
		t.Fatalf("set from cache: %v, generation %d", s, again.gen.Load())
	}

	// Garbage from Central keeps the set in place and the cache as it was.
	p.apply(&sensorv1.PolicySync{Generation: 8, PoliciesJson: []byte(`{"not":"a list"`)})
	if p.Set() != first || p.gen.Load() != 7 || !strings.Contains(logs.String(), "not applied") {
		t.Errorf("garbage replaced the set (generation %d)\n%s", p.gen.Load(), logs)
	}
	if err := again.load(); err != nil || again.gen.Load() != 7 {
		t.Errorf("cache after garbage: generation %d, %v", again.gen.Load(), err)
	}
}

// A policy this Sensor cannot read or compile (a newer Central's) costs
// only that policy.
func TestPoliciesSkipWhatDoesNotCompile(t *testing.T) {
	log, logs := logBuffer()
	p := newPolicies("", log)
	good := builtinDoc(t, nil)
	var list []json.RawMessage
	if err := json.Unmarshal(good, &list); err != nil {
		t.Fatal(err)
	}
	list = append(list,
		json.RawMessage(`{"name":"From the future","severity":"HIGH_SEVERITY","lifecycleStages":["DEPLOY"],"futureField":1,"policySections":[]}`),
		json.RawMessage(`{"name":"Unknown criterion","severity":"HIGH_SEVERITY","lifecycleStages":["DEPLOY"],"policySections":[{"policyGroups":[{"fieldName":"Quantum State","values":[{"value":"up"}]}]}]}`))
	doc, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	p.apply(&sensorv1.PolicySync{Generation: 3, PoliciesJson: doc})
	if s := p.Set(); s == nil || len(s.Policies()) != len(list)-2 {
		t.Fatalf("set: %v\n%s", s, logs)
	}
	for _, want := range []string{"From the future", "Unknown criterion", "index=" + itoa(len(list))} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// An empty list is a valid set: Central has no policies.
	p.apply(&sensorv1.PolicySync{Generation: 4, PoliciesJson: []byte(`[]`)})
	if s := p.Set(); s == nil || len(s.Policies()) != 0 {
		t.Errorf("empty set: %v", s)
	}
	// A list of which nothing can be read is refused.
	p.apply(&sensorv1.PolicySync{Generation: 5, PoliciesJson: []byte(`[{"bogus":true}]`)})
	if p.gen.Load() != 4 {
		t.Errorf("an unreadable set was applied: generation %d", p.gen.Load())
	}
}

func TestPolicyCacheDamaged(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PolicyCacheFile), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPolicies(dir, slog.New(slog.DiscardHandler))
	err := p.load()
	if err == nil || !strings.Contains(err.Error(), PolicyCacheFile) {
		t.Errorf("load of a damaged cache: %v", err)
	}
	if p.Set() != nil {
		t.Error("a damaged cache installed a set")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
