package k8stest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// Binaries are the programs a cluster runs, and the Kubernetes version they
// were built at.
type Binaries struct {
	Etcd      string
	APIServer string
	// Kubectl is the kubectl built beside kube-apiserver at the same
	// version, else the one on PATH, else "".
	Kubectl string
	// Version is the k8s.io/kubernetes version hack/kube/go.mod pins, as
	// kube-apiserver reports it (v1.36.3).
	Version string
}

// toolModule is the tool module's directory, relative to the module root.
const toolModule = "hack/kube"

// debianEtcd is where the Debian package etcd-server installs etcd, looked
// at when PATH has none.
const debianEtcd = "/usr/bin/etcd"

// FindBinaries locates etcd and the kube-apiserver that hack/kube/build.sh
// built for the version pinned in the module's hack/kube/go.mod (the module
// root is found by walking up from the working directory to go.mod). The
// error wraps ErrNotInstalled, naming the fix, when one is missing or was
// built from another go.sum.
func FindBinaries() (Binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return Binaries{}, err
	}
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return Binaries{}, fmt.Errorf("kube binary cache: %w (set %s)", err, CacheEnv)
		}
		cache = filepath.Join(home, ".cache", "stockade", "kube")
	}
	etcdAt := []string{debianEtcd}
	if path, err := exec.LookPath("etcd"); err == nil {
		etcdAt = append([]string{path}, etcdAt...)
	}
	return findBinaries(filepath.Join(root, toolModule), cache, etcdAt)
}

// findBinaries is FindBinaries for a tool module directory, a cache root and
// the places etcd may be.
func findBinaries(toolDir, cache string, etcdAt []string) (Binaries, error) {
	version, sum, err := pinnedVersion(toolDir)
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Version: version}
	if b.Etcd, err = findEtcd(etcdAt); err != nil {
		return Binaries{}, err
	}
	dir := filepath.Join(cache, version)
	b.APIServer = filepath.Join(dir, "kube-apiserver")
	switch current, err := builtFrom(b.APIServer, sum); {
	case errors.Is(err, os.ErrNotExist):
		return Binaries{}, fmt.Errorf("%w: kube-apiserver %s not built in %s: run %s", ErrNotInstalled, version, dir, FixAPIServer)
	case err != nil:
		return Binaries{}, err
	case !current:
		return Binaries{}, fmt.Errorf("%w: kube-apiserver %s in %s was built from another hack/kube/go.sum: run %s", ErrNotInstalled, version, dir, FixAPIServer)
	}
	if current, err := builtFrom(filepath.Join(dir, "kubectl"), sum); err == nil && current {
		b.Kubectl = filepath.Join(dir, "kubectl")
	} else if path, err := exec.LookPath("kubectl"); err == nil {
		b.Kubectl = path
	}
	return b, nil
}

// pinnedVersion reads the k8s.io/kubernetes version from the tool module's
// go.mod and hashes its go.sum the way build.sh stamps the binaries.
func pinnedVersion(toolDir string) (version, goSumHash string, err error) {
	modPath := filepath.Join(toolDir, "go.mod")
	data, err := os.ReadFile(modPath)
	if err != nil {
		return "", "", fmt.Errorf("read the kube tool module: %w", err)
	}
	f, err := modfile.ParseLax(modPath, data, nil)
	if err != nil {
		return "", "", fmt.Errorf("parse %s: %w", modPath, err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			version = r.Mod.Version
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("%s: no require of k8s.io/kubernetes", modPath)
	}
	sum, err := os.ReadFile(filepath.Join(toolDir, "go.sum"))
	if err != nil {
		return "", "", fmt.Errorf("read the kube tool module's checksums: %w", err)
	}
	h := sha256.Sum256(sum)
	return version, hex.EncodeToString(h[:]), nil
}

// builtFrom reports whether the binary at path exists and its stamp
// (path.key, written by build.sh) names the go.sum hash sum. The error wraps
// os.ErrNotExist when the binary is missing.
func builtFrom(path, sum string) (bool, error) {
	fi, err := os.Stat(path) //nolint:gosec // G703: a path in the kube binary cache, as build.sh lays it out
	if err != nil {
		return false, fmt.Errorf("find %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return false, fmt.Errorf("find %s: %w", path, os.ErrNotExist)
	}
	key, err := os.ReadFile(path + ".key") //nolint:gosec // G703: the stamp beside a cached binary
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read build stamp: %w", err)
	}
	return strings.Contains(string(key), "go.sum:"+sum), nil
}

// findEtcd returns the first of paths that is an executable file.
func findEtcd(paths []string) (string, error) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: etcd not installed: %s", ErrNotInstalled, FixEtcd)
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}
