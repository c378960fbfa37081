// Package sensorconn is Central's end of the Sensor connection: the gRPC
// service SensorService (api/sensor/v1), served on Central's HTTPS port
// next to the REST API. Each secured cluster's Sensor holds one
// bidirectional stream, authenticated by the client certificate of an init
// bundle that Central's cluster CA issued and that was not revoked.
//
// A stream runs: Hello → the cluster is registered (one connected Sensor
// per cluster name) → HelloAck and the policy set → the Sensor's full sync
// of deployments → SyncDone, after which Central removes the cluster's
// deployments the Sensor did not report → live updates. Central pushes the
// policy set again whenever a policy changes (policyset.Cache.Changed).
// Deployment events go to the deployment inventory, deduplicated by
// content hash; alert events become alerts with their lifecycle (ACTIVE,
// RESOLVED, ATTEMPTED), recorded through detectapi.NewAlert and the
// notification outbox in one transaction, as detection does.
package sensorconn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/initbundle"
	"github.com/stockade-dev/stockade/internal/policy"
)

// Store is what the connection needs from the store.
type Store interface {
	InitBundleForCert(ctx context.Context, serial string) (store.InitBundleRecord, store.InitBundleCert, error)
	RegisterCluster(ctx context.Context, c store.ClusterRecord) (store.ClusterRecord, error)
	TouchCluster(ctx context.Context, id string, at time.Time) error
	ClusterDeploymentIDs(ctx context.Context, cluster, source string) ([]string, error)
	GetDeployment(ctx context.Context, id string) (store.DeploymentRecord, error)
	InTx(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Verifier checks a client's certificate chain (Central's cluster CA).
type Verifier interface {
	VerifyClient(chain []*x509.Certificate, now time.Time) (*x509.Certificate, error)
}

// Policies is the compiled policy set and its change signal
// (policyset.Cache).
type Policies interface {
	Set(ctx context.Context) (*policy.Set, error)
	Changed() <-chan struct{}
	Generation() uint64
}

// Notifications queues alert notifications inside the recording
// transaction (the outbox) and wakes delivery once it committed.
type Notifications interface {
	EnqueueAlerts(ctx context.Context, tx *store.Tx, changes []outbox.AlertChange) error
	Kick()
}

// Counter counts recorded alerts.
type Counter interface {
	Add(float64)
}

// Config tunes the service; zero values take the defaults.
type Config struct {
	// HelloTimeout bounds the wait for a stream's Hello (30s).
	HelloTimeout time.Duration
	// IdleTimeout ends a stream that sent nothing for that long (2m); the
	// Sensor sends heartbeats well within it.
	IdleTimeout time.Duration
	// TouchEvery is how often the stored last contact is written while
	// messages arrive (5s); the API reads the live one in between.
	TouchEvery time.Duration
	// PolicyDebounce gathers policy changes made together into one push
	// (100ms).
	PolicyDebounce time.Duration
	// MaxMessage bounds one received message (8 MiB).
	MaxMessage int
}

func (c *Config) fill() {
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = 5 * time.Second
	}
	if c.PolicyDebounce <= 0 {
		c.PolicyDebounce = 100 * time.Millisecond
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = 8 << 20
	}
}

// Service serves SensorService.
type Service struct {
	sensorv1.UnimplementedSensorServiceServer

	store    Store
	ca       Verifier
	policies Policies
	notify   Notifications
	recorded Counter
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	grpc     *grpc.Server

	mu     sync.Mutex
	conns  map[string]*conn             // by cluster name
	hashes map[string]map[string]string // cluster id → deployment id → content hash stored

	docMu  sync.Mutex
	docGen uint64
	doc    []byte
}

// New returns the service. notify and recorded may be nil.
func New(st Store, ca Verifier, policies Policies, notify Notifications, recorded Counter, cfg Config, log *slog.Logger) *Service {
	cfg.fill()
	s := &Service{store: st, ca: ca, policies: policies, notify: notify, recorded: recorded, cfg: cfg, log: log, now: time.Now,
		conns: map[string]*conn{}, hashes: map[string]map[string]string{}}
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(cfg.MaxMessage),
		grpc.StreamInterceptor(s.authenticateStream),
		grpc.UnaryInterceptor(s.authenticateUnary),
	)
	sensorv1.RegisterSensorServiceServer(s.grpc, s)
	return s
}

// Handler routes gRPC requests (HTTP/2 with an application/grpc content
// type) to the service and everything else to rest. The HTTPS server's
// read and write timeouts are lifted for gRPC streams, which live as long
// as the Sensor stays connected.
func (s *Service) Handler(rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			rest.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// Not every writer supports deadlines; the server's timeouts then
		// stay, and the Sensor reconnects when one ends its stream.
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		s.grpc.ServeHTTP(w, r)
	})
}

// Stop ends every stream at once; call it when the HTTPS server shuts
// down, which would otherwise wait for the streams to end.
func (s *Service) Stop() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.cancel(status.Error(codes.Unavailable, "central is shutting down"))
	}
	s.mu.Unlock()
	s.grpc.Stop()
}

// Connected says whether a Sensor of the cluster with id is connected and
// when it was last heard from.
func (s *Service) Connected(clusterID string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.clusterID == clusterID {
			return c.lastContact(), true
		}
	}
	return time.Time{}, false
}

// BundleRevoked drops the streams of Sensors that connected with the
// bundle's certificate; their next connection is refused.
func (s *Service) BundleRevoked(bundleID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c.bundle.ID == bundleID {
			c.cancel(status.Errorf(codes.PermissionDenied, "init bundle %q was revoked", c.bundle.Name))
		}
	}
}

type identityKey struct{}

// identity is the init bundle a stream authenticated with.
type identity struct {
	bundle store.InitBundleRecord
}

func (s *Service) authenticateStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	id, err := s.authenticate(ss.Context())
	if err != nil {
		s.log.Warn("sensor refused", "method", info.FullMethod, "client", clientAddr(ss.Context()), "err", err)
		return err
	}
	return handler(srv, &identityStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), identityKey{}, id)})
}

func (s *Service) authenticateUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	id, err := s.authenticate(ctx)
	if err != nil {
		s.log.Warn("sensor refused", "method", info.FullMethod, "client", clientAddr(ctx), "err", err)
		return nil, err
	}
	return handler(context.WithValue(ctx, identityKey{}, id), req)
}

type identityStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }

func clientAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

// authenticate finds the init bundle of the client certificate: it must
// chain to the cluster CA, belong to a known bundle that was not revoked,
// and be the bundle's Sensor certificate.
func (s *Service) authenticate(ctx context.Context) (identity, error) {
	p, ok := peer.FromContext(ctx)
	var tlsInfo credentials.TLSInfo
	if ok {
		tlsInfo, ok = p.AuthInfo.(credentials.TLSInfo)
	}
	if !ok || len(tlsInfo.State.PeerCertificates) == 0 {
		return identity{}, status.Error(codes.Unauthenticated, "a client certificate from an init bundle is required (stockade central init-bundle generate)")
	}
	leaf, err := s.ca.VerifyClient(tlsInfo.State.PeerCertificates, s.now())
	if err != nil {
		return identity{}, status.Error(codes.Unauthenticated, err.Error())
	}
	b, cert, err := s.store.InitBundleForCert(ctx, certs.SerialHex(leaf.SerialNumber))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return identity{}, status.Errorf(codes.Unauthenticated, "client certificate %q belongs to no init bundle this Central issued", leaf.Subject.CommonName)
	case err != nil:
		s.log.Error("look up init bundle failed", "err", err)
		return identity{}, status.Error(codes.Unavailable, "cannot check the client certificate now; retry")
	case b.RevokedAt != nil:
		return identity{}, status.Errorf(codes.PermissionDenied, "init bundle %q (%s) was revoked on %s; generate a new one and install it in the cluster",
			b.Name, b.ID, b.RevokedAt.UTC().Format(time.RFC3339))
	case cert.Service != initbundle.ServiceSensor:
		return identity{}, status.Errorf(codes.PermissionDenied, "certificate of init bundle %q is for %s, not for the Sensor", b.Name, cert.Service)
	}
	return identity{bundle: b}, nil
}

// clusterName is what a cluster may be called: it is stored with every
// deployment and alert of the cluster.
var clusterName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$`)

// conn is one connected Sensor.
type conn struct {
	clusterID string
	name      string
	bundle    store.InitBundleRecord
	cancel    context.CancelCauseFunc

	sendMu sync.Mutex
	stream sensorv1.SensorService_CommunicateServer

	contactMu sync.Mutex
	contact   time.Time
}

func (c *conn) lastContact() time.Time {
	c.contactMu.Lock()
	defer c.contactMu.Unlock()
	return c.contact
}

func (c *conn) touch(at time.Time) {
	c.contactMu.Lock()
	c.contact = at
	c.contactMu.Unlock()
}

// send is safe for the stream's goroutines to call concurrently.
func (c *conn) send(m *sensorv1.CentralMessage) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.stream.Send(m)
}

// register makes c the connected Sensor of its cluster name, unless
// another one is.
func (s *Service) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.conns[c.name]; taken {
		return false
	}
	s.conns[c.name] = c
	return true
}

func (s *Service) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.name] == c {
		delete(s.conns, c.name)
	}
}

// clusterHashes returns the content hashes stored for the cluster's
// deployments, kept across the cluster's streams.
func (s *Service) clusterHashes(clusterID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hashes[clusterID]
	if h == nil {
		h = map[string]string{}
		s.hashes[clusterID] = h
	}
	return h
}

// Communicate serves one Sensor's stream.
func (s *Service) Communicate(stream sensorv1.SensorService_CommunicateServer) error {
	id, ok := stream.Context().Value(identityKey{}).(identity)
	if !ok {
		return status.Error(codes.Unauthenticated, "stream not authenticated")
	}
	hello, err := s.recvHello(stream)
	if err != nil {
		return err
	}
	if !clusterName.MatchString(hello.GetClusterName()) {
		return status.Errorf(codes.InvalidArgument, "cluster name %q: want 1 to 253 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", hello.GetClusterName())
	}
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	c := &conn{name: hello.GetClusterName(), bundle: id.bundle, cancel: cancel, stream: stream}
	if !s.register(c) {
		s.log.Warn("sensor refused", "cluster", c.name, "reason", "another Sensor of the cluster is connected", "client", clientAddr(ctx))
		return status.Errorf(codes.AlreadyExists, "a Sensor of cluster %q is connected already; only one may be", c.name)
	}
	defer s.unregister(c)
	now := s.now().UTC().Round(0)
	rec, err := s.store.RegisterCluster(ctx, store.ClusterRecord{
		ID: uuid.NewString(), Name: c.name, SensorVersion: hello.GetSensorVersion(), KubernetesVersion: hello.GetKubernetesVersion(),
		Capabilities: hello.GetCapabilities(), InitBundleID: id.bundle.ID, LastContact: now,
	})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return status.Errorf(codes.InvalidArgument, "hello: %v", err)
		}
		s.log.Error("register cluster failed", "cluster", c.name, "err", err)
		return status.Error(codes.Unavailable, "cannot register the cluster now; retry")
	}
	c.clusterID = rec.ID
	c.touch(now)
	if err := c.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_HelloAck{HelloAck: &sensorv1.HelloAck{ClusterId: rec.ID}}}); err != nil {
		return err
	}
	s.log.Info("sensor connected", "cluster", c.name, "cluster_id", rec.ID, "bundle", id.bundle.Name,
		"sensor_version", hello.GetSensorVersion(), "kubernetes_version", hello.GetKubernetesVersion(), "client", clientAddr(ctx))

	pushDone := make(chan struct{})
	go func() {
		defer close(pushDone)
		s.pushPolicies(ctx, c)
	}()
	err = s.serve(ctx, c, stream)
	cancel(err)
	<-pushDone
	if terr := s.store.TouchCluster(context.WithoutCancel(ctx), c.clusterID, c.lastContact()); terr != nil {
		s.log.Warn("record last contact failed", "cluster", c.name, "err", terr)
	}
	s.log.Info("sensor disconnected", "cluster", c.name, "reason", err)
	return err
}

func (s *Service) recvHello(stream sensorv1.SensorService_CommunicateServer) (*sensorv1.Hello, error) {
	type result struct {
		m   *sensorv1.SensorMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		ch <- result{m, err}
	}()
	timer := time.NewTimer(s.cfg.HelloTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		if h := r.m.GetHello(); h != nil {
			return h, nil
		}
		return nil, status.Error(codes.InvalidArgument, "the first message of a stream must be a Hello")
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no Hello within %s", s.cfg.HelloTimeout)
	}
}

// pushPolicies sends the policy set now and again after every change,
// until ctx ends.
func (s *Service) pushPolicies(ctx context.Context, c *conn) {
	for {
		changed := s.policies.Changed()
		gen := s.policies.Generation()
		doc, err := s.policyDoc(ctx, gen)
		if err != nil {
			s.log.Error("policy set not sent", "cluster", c.name, "err", err)
		} else if err := c.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_PolicySync{
			PolicySync: &sensorv1.PolicySync{Generation: gen, PoliciesJson: doc}}}); err != nil {
			c.cancel(fmt.Errorf("send policy set: %w", err))
			return
		} else {
			s.log.Debug("policy set sent", "cluster", c.name, "generation", gen)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.PolicyDebounce):
		}
	}
}

// policyDoc is the JSON array of every policy at gen, encoded once for
// all streams.
func (s *Service) policyDoc(ctx context.Context, gen uint64) ([]byte, error) {
	s.docMu.Lock()
	defer s.docMu.Unlock()
	if s.doc != nil && s.docGen == gen {
		return s.doc, nil
	}
	set, err := s.policies.Set(ctx)
	if err != nil {
		return nil, err
	}
	ps := make([]*policy.Policy, 0, len(set.Policies()))
	for _, c := range set.Policies() {
		ps = append(ps, c.Policy)
	}
	doc, err := marshalPolicies(ps)
	if err != nil {
		return nil, err
	}
	s.doc, s.docGen = doc, gen
	return doc, nil
}
