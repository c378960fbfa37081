package install

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// YAML renders one object as the manifest kubectl applies: without the
// empty status and null creation time typed objects carry.
func YAML(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	clean(m)
	return yaml.Marshal(m)
}

// clean drops null values and empty objects, recursively (status: {},
// creationTimestamp: null, resources: {}).
func clean(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if child == nil || clean(child) {
				delete(t, k)
			}
		}
		return len(t) == 0
	case []any:
		for _, child := range t {
			clean(child)
		}
	}
	return false
}

// WriteDir writes each object to its own file in dir (created 0700 if
// missing), private keys 0600, others 0644. Each file is written to a
// temporary name and renamed, so an interrupted run never leaves a
// half-written manifest.
func WriteDir(dir string, b *Bundle) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var written []string
	for _, o := range b.Objects {
		data, err := YAML(o.Object)
		if err != nil {
			return written, fmt.Errorf("render %s: %w", o.File, err)
		}
		mode := os.FileMode(0o644)
		if o.Secret {
			mode = 0o600
		}
		path := filepath.Join(dir, o.File)
		if err := writeFile(path, data, mode); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) //nolint:errcheck // gone after the rename; removing a leftover loses nothing
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
