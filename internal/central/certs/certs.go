// Package certs bootstraps Central's TLS: a private certificate authority
// created at first start in the data directory, and a server certificate it
// signs for the names Central is reached by. Clients trust the CA file
// (ca.pem); the server certificate is renewed without changing the CA, so
// that trust survives renewals.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names in the data directory.
const (
	CAFile     = "ca.pem"
	CAKeyFile  = "ca-key.pem"
	CertFile   = "server.pem"
	KeyFile    = "server-key.pem"
	caValidity = 10 * 365 * 24 * time.Hour
	// ServerValidity is the lifetime of a server certificate.
	ServerValidity = 365 * 24 * time.Hour
	// RenewBefore is how close to expiry a server certificate is replaced.
	RenewBefore = 30 * 24 * time.Hour
)

// Result is the TLS material Central serves with.
type Result struct {
	Certificate tls.Certificate
	// CAPath is the CA clients should trust; empty for a certificate given
	// by the operator.
	CAPath string
	// CreatedCA and IssuedCert say what Ensure had to create this time.
	CreatedCA  bool
	IssuedCert bool
}

// DefaultHosts are the names every bootstrapped server certificate covers.
func DefaultHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// Ensure loads the CA and server certificate from dir, creating the CA if
// there is none and issuing a server certificate when there is none, when it
// expires within RenewBefore, when it misses one of hosts, or when another
// CA signed it. Private keys are written with mode 0600.
func Ensure(dir string, hosts []string, now time.Time, log *slog.Logger) (Result, error) {
	var res Result
	caCert, caKey, err := loadCA(dir, CAFile, CAKeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		caCert, caKey, err = createCA(dir, CAFile, CAKeyFile, "Stockade Central CA", now)
		if err != nil {
			return res, err
		}
		res.CreatedCA = true
		log.Info("certificate authority created", "path", filepath.Join(dir, CAFile), "expires", caCert.NotAfter)
	case err != nil:
		return res, err
	}
	if !now.Before(caCert.NotAfter) {
		return res, fmt.Errorf("certificate authority %s expired on %s: remove %s and %s to create a new one (clients must then trust the new CA)",
			filepath.Join(dir, CAFile), caCert.NotAfter.Format(time.DateOnly), CAFile, CAKeyFile)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	reason := ""
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reason = "missing"
	case err != nil:
		reason = "unreadable"
		log.Warn("server certificate unreadable; issuing a new one", "path", certPath, "err", err)
	default:
		reason = needsRenewal(cert.Leaf, caCert, hosts, now)
	}
	if reason != "" {
		cert, err = issue(dir, caCert, caKey, hosts, now)
		if err != nil {
			return res, err
		}
		res.IssuedCert = true
		log.Info("server certificate issued", "path", certPath, "reason", reason, "hosts", hosts, "expires", cert.Leaf.NotAfter)
	}
	res.Certificate = cert
	res.CAPath = filepath.Join(dir, CAFile)
	return res, nil
}

// needsRenewal says why leaf must be replaced, or "".
func needsRenewal(leaf, ca *x509.Certificate, hosts []string, now time.Time) string {
	if leaf.NotAfter.Sub(now) < RenewBefore {
		return "expiring"
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return "signed by another CA"
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return "host " + h + " not covered"
		}
	}
	return ""
}

// Load reads an operator-provided certificate and key (PEM).
func Load(certFile, keyFile string) (Result, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return Result{}, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return Result{Certificate: cert}, nil
}

// ServerConfig is the TLS configuration Central serves with: TLS 1.2 at least.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
}

// loadCA reads the CA certFile and its key keyFile in dir; fs.ErrNotExist
// when neither exists.
func loadCA(dir, certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	caPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	_, certErr := os.Stat(caPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, fs.ErrNotExist
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("load certificate authority: %s exists but its key %s is missing; restore the key or remove both files", caPath, keyPath)
	case errors.Is(certErr, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("load certificate authority: key %s exists but %s is missing; restore it or remove both files", keyPath, caPath)
	}
	pair, err := tls.LoadX509KeyPair(caPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load certificate authority %s: %w", caPath, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !pair.Leaf.IsCA {
		return nil, nil, fmt.Errorf("load certificate authority %s: not a CA certificate with a signing key", caPath)
	}
	return pair.Leaf, signer, nil
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// createCA creates a CA named commonName as certFile and keyFile in dir.
func createCA(dir, certFile, keyFile, commonName string, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate authority: generate key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate authority: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Stockade"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate authority: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate authority: %w", err)
	}
	// The key first: a CA file without its key would block the next start.
	if err := writeKey(filepath.Join(dir, keyFile), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, certFile), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func issue(dir string, ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: generate key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	notAfter := now.Add(ServerValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "Stockade Central", Organization: []string{"Stockade"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" && !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	if err := writeKey(filepath.Join(dir, KeyFile), key); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(filepath.Join(dir, CertFile), "CERTIFICATE", der, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key %s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes atomically: a crash leaves the old file or the new one.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	var buf bytes.Buffer
	if err := pem.Encode(&buf, &pem.Block{Type: typ, Bytes: der}); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), mode)
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, created with mode, then renamed over path.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp) // best effort; the write error is what matters
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
