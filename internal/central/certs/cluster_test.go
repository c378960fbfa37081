package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClusterCAIssuesAndVerifiesClientCertificates(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ca, err := EnsureClusterCA(dir, now, log)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]os.FileMode{ClusterCAKeyFile: 0o600, ClusterCAFile: 0o644} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != want {
			t.Fatalf("%s: %v, mode %v, want %v", f, err, info.Mode().Perm(), want)
		}
	}
	// The second start reuses the CA; Central's server CA is separate.
	again, err := EnsureClusterCA(dir, now.Add(time.Hour), log)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.PEM(), ca.PEM()) || !bytes.Equal(read(t, filepath.Join(dir, ClusterCAFile)), ca.PEM()) {
		t.Fatal("cluster CA not reused")
	}
	if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
		t.Fatal("the cluster CA wrote the server CA's file")
	}

	cc, err := ca.IssueClient(pkix.Name{CommonName: "SENSOR_SERVICE: b1", OrganizationalUnit: []string{"SENSOR_SERVICE"}}, now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(cc.CertPEM, cc.KeyPEM); err != nil {
		t.Fatalf("issued certificate and key do not pair: %v", err)
	}
	leaf := parsePEM(t, cc.CertPEM)
	if SerialHex(leaf.SerialNumber) != cc.Serial || cc.Serial != strings.ToLower(cc.Serial) || !leaf.NotAfter.Equal(cc.NotAfter) {
		t.Fatalf("serial %s / %s, not after %v / %v", SerialHex(leaf.SerialNumber), cc.Serial, leaf.NotAfter, cc.NotAfter)
	}
	got, err := ca.VerifyClient([]*x509.Certificate{leaf}, now)
	if err != nil || got != leaf {
		t.Fatalf("VerifyClient: %v", err)
	}
	if _, err := ca.VerifyClient([]*x509.Certificate{leaf}, cc.NotAfter.Add(time.Minute)); err == nil {
		t.Fatal("an expired certificate verified")
	}
	if _, err := ca.VerifyClient(nil, now); err == nil {
		t.Fatal("no certificate verified")
	}

	// A certificate of another CA (here: Central's server certificate,
	// signed by the server CA) is refused.
	res, err := Ensure(dir, DefaultHosts(), now, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.VerifyClient([]*x509.Certificate{res.Certificate.Leaf}, now); err == nil || !strings.Contains(err.Error(), "cluster CA") {
		t.Fatalf("a server certificate of the other CA verified: %v", err)
	}
	other, err := EnsureClusterCA(t.TempDir(), now, log)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueClient(pkix.Name{CommonName: "x"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.VerifyClient([]*x509.Certificate{parsePEM(t, foreign.CertPEM)}, now); err == nil {
		t.Fatal("another cluster CA's client certificate verified")
	}

	// Validity is cut at the CA's expiry.
	long, err := ca.IssueClient(pkix.Name{CommonName: "long"}, now, 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !long.NotAfter.Equal(ca.Certificate().NotAfter) {
		t.Fatalf("not after %v, want the CA's %v", long.NotAfter, ca.Certificate().NotAfter)
	}
	// An expired CA is refused with what to do.
	if _, err := EnsureClusterCA(dir, ca.Certificate().NotAfter.Add(time.Hour), log); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired cluster CA: %v", err)
	}
	// A lone key is refused rather than replaced.
	if err := os.Remove(filepath.Join(dir, ClusterCAFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureClusterCA(dir, now, log); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("lone key: %v", err)
	}
}
