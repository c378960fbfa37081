package central

import (
	"crypto/tls"
	"fmt"
	"os"
	"time"

	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/clusterapi"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/policyset"
	"github.com/stockade-dev/stockade/internal/central/sensorconn"
)

// wireSensors builds what secured clusters talk to: the cluster CA in the
// data directory (created at first start), the Sensor connection served
// on the HTTPS port, and the cluster and init bundle API, whose routes it
// returns.
func (s *Server) wireSensors(cache *policyset.Cache) ([]httpapi.Route, error) {
	log := s.log
	ca, err := certs.EnsureClusterCA(s.cfg.DataDir, time.Now(), log)
	if err != nil {
		return nil, err
	}
	var centralCA []byte
	if s.caPath != "" {
		if centralCA, err = os.ReadFile(s.caPath); err != nil {
			return nil, fmt.Errorf("read CA for init bundles: %w", err)
		}
	}
	s.sensors = sensorconn.New(s.store, ca, cache, s.outbox, s.metrics.AlertsRecorded, sensorconn.Config{}, log.With("component", "sensorconn"))
	return clusterapi.New(s.store, ca, centralCA, s.sensors, log.With("component", "clusterapi")).Routes(), nil
}

// sensorTLS makes Central's TLS configuration ask clients for a
// certificate without requiring one: browsers and the CLI send none, and
// the Sensor connection checks the one a Sensor sends against the cluster
// CA itself, so that a refusal is a clear gRPC status rather than a
// failed handshake.
func sensorTLS(cfg *tls.Config) *tls.Config {
	cfg.ClientAuth = tls.RequestClientCert
	return cfg
}
