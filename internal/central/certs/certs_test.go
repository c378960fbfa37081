package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnsureCreatesThenReusesThenRenews(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hosts := append(DefaultHosts(), "central.example.com")

	res, err := Ensure(dir, hosts, now, log)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedCA || !res.IssuedCert || res.CAPath != filepath.Join(dir, CAFile) {
		t.Fatalf("first Ensure = %+v", res)
	}
	for f, want := range map[string]os.FileMode{CAKeyFile: 0o600, KeyFile: 0o600, CAFile: 0o644, CertFile: 0o644} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %o (%v)", f, info.Mode().Perm(), want, err)
		}
	}
	ca, err := x509.ParseCertificate(mustPEM(t, read(t, filepath.Join(dir, CAFile))))
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || ca.NotAfter.Sub(now) < 9*365*24*time.Hour {
		t.Errorf("CA: IsCA=%v, expires %v", ca.IsCA, ca.NotAfter)
	}
	if k, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	leaf := res.Certificate.Leaf
	if d := leaf.NotAfter.Sub(now); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("server certificate valid for %v, want a year", d)
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not cover %s: %v", h, err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, DNSName: "localhost"}); err != nil {
		t.Errorf("server certificate does not verify against the CA: %v", err)
	}

	caPEM, certPEM := read(t, filepath.Join(dir, CAFile)), read(t, filepath.Join(dir, CertFile))
	// Later start, well before expiry: everything reused.
	res, err = Ensure(dir, hosts, now.Add(200*24*time.Hour), log)
	if err != nil || res.CreatedCA || res.IssuedCert {
		t.Fatalf("second Ensure = %+v, %v", res, err)
	}
	if !bytes.Equal(certPEM, read(t, filepath.Join(dir, CertFile))) {
		t.Error("server certificate rewritten although still valid")
	}
	// Less than 30 days left: renewed, CA kept.
	res, err = Ensure(dir, hosts, now.Add(340*24*time.Hour), log)
	if err != nil || res.CreatedCA || !res.IssuedCert {
		t.Fatalf("Ensure near expiry = %+v, %v", res, err)
	}
	if !bytes.Equal(caPEM, read(t, filepath.Join(dir, CAFile))) {
		t.Error("the CA changed on renewal")
	}
	// A new listen host: reissued to cover it.
	res, err = Ensure(dir, append(hosts, "10.1.2.3"), now.Add(341*24*time.Hour), log)
	if err != nil || !res.IssuedCert || res.Certificate.Leaf.VerifyHostname("10.1.2.3") != nil {
		t.Fatalf("Ensure with a new host = %+v, %v", res, err)
	}
}

func TestEnsureRefusesHalfACA(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	if _, err := Ensure(dir, DefaultHosts(), time.Now(), log); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CAKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, DefaultHosts(), time.Now(), log); err == nil {
		t.Fatal("Ensure replaced a CA whose key is missing")
	}
}

func TestServerConfigNeedsTLS12(t *testing.T) {
	if c := ServerConfig(Result{}.Certificate); c.MinVersion != 0x0303 {
		t.Errorf("MinVersion = %x, want TLS 1.2", c.MinVersion)
	}
}

func mustPEM(t *testing.T, data []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}
