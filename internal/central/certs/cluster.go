package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"path/filepath"
	"time"
)

// The cluster CA's files in the data directory. It is a second CA, apart
// from the one that signs Central's server certificate: it only issues the
// client certificates of init bundles, and Central trusts nothing else on
// the Sensor connection.
const (
	ClusterCAFile    = "cluster-ca.pem"
	ClusterCAKeyFile = "cluster-ca-key.pem"
)

// ClusterCA issues and verifies the client certificates secured clusters
// authenticate with.
type ClusterCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pool *x509.CertPool
	pem  []byte
}

// EnsureClusterCA loads the cluster CA from dir, creating it at first use.
// Its key is written with mode 0600.
func EnsureClusterCA(dir string, now time.Time, log *slog.Logger) (*ClusterCA, error) {
	cert, key, err := loadCA(dir, ClusterCAFile, ClusterCAKeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cert, key, err = createCA(dir, ClusterCAFile, ClusterCAKeyFile, "Stockade Cluster CA", now)
		if err != nil {
			return nil, err
		}
		log.Info("cluster certificate authority created", "path", filepath.Join(dir, ClusterCAFile), "expires", cert.NotAfter)
	case err != nil:
		return nil, err
	}
	if !now.Before(cert.NotAfter) {
		return nil, fmt.Errorf("cluster certificate authority %s expired on %s: remove %s and %s to create a new one (every init bundle must then be generated again)",
			filepath.Join(dir, ClusterCAFile), cert.NotAfter.Format(time.DateOnly), ClusterCAFile, ClusterCAKeyFile)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &ClusterCA{cert: cert, key: key, pool: pool, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})}, nil
}

// Certificate is the CA's certificate.
func (ca *ClusterCA) Certificate() *x509.Certificate { return ca.cert }

// PEM is the CA's certificate in PEM.
func (ca *ClusterCA) PEM() []byte { return ca.pem }

// ClientCert is an issued client certificate and its private key, both in
// PEM.
type ClientCert struct {
	CertPEM []byte
	KeyPEM  []byte
	// Serial is the serial number in lower-case hex (SerialHex).
	Serial   string
	NotAfter time.Time
}

// IssueClient issues a client certificate for subject valid from now for
// validity (cut at the CA's own expiry).
func (ca *ClusterCA) IssueClient(subject pkix.Name, now time.Time, validity time.Duration) (ClientCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ClientCert{}, fmt.Errorf("issue client certificate %q: generate key: %w", subject.CommonName, err)
	}
	sn, err := serial()
	if err != nil {
		return ClientCert{}, fmt.Errorf("issue client certificate %q: %w", subject.CommonName, err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return ClientCert{}, fmt.Errorf("issue client certificate %q: %w", subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return ClientCert{}, fmt.Errorf("issue client certificate %q: encode key: %w", subject.CommonName, err)
	}
	return ClientCert{
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Serial:   SerialHex(sn),
		NotAfter: notAfter,
	}, nil
}

// VerifyClient checks that chain (leaf first, as a TLS client sent it)
// leads from a client certificate to the cluster CA at now, and returns
// the leaf.
func (ca *ClusterCA) VerifyClient(chain []*x509.Certificate, now time.Time) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("no client certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         ca.pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("client certificate %q not issued by this Central's cluster CA: %w", leaf.Subject.CommonName, err)
	}
	return leaf, nil
}

// SerialHex renders a certificate serial number as stored: lower-case hex.
func SerialHex(n *big.Int) string { return n.Text(16) }
