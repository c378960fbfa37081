// Package conn is the Sensor's connection to Central: one gRPC stream
// (api/sensor/v1) over mutual TLS with the init bundle's Sensor
// certificate, kept up for as long as the Sensor runs.
//
// The one idea: the connection comes and goes, the Sensor does not notice.
// Send never blocks; messages wait in a bounded buffer (the oldest dropped
// and counted when it is full) while Central is away, and the client
// reconnects with exponential backoff and jitter. Every (re)connect runs
// Hello → HelloAck → the full state from the FullState hook → SyncDone,
// and only then the buffered messages; the buffered messages that the
// full state supersedes (deployments, current alert sets) are dropped
// first. Policy sets Central pushes reach OnPolicySync.
package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/initbundle"
)

// Hello is what the Sensor says about itself on each connect.
type Hello struct {
	ClusterName       string
	SensorVersion     string
	KubernetesVersion string
	Capabilities      []string
}

// Options configure a Client; zero values take the defaults.
type Options struct {
	Hello Hello
	// FullState sends, through send, every message that describes the
	// Sensor's current state: a DeploymentEvent per deployment and an
	// ACTIVE AlertEvent per deployment with alerts. It runs after each
	// HelloAck; SyncDone follows it. It must report a state at least as
	// new as every message Sent before it was called; messages Sent while
	// it runs are delivered after SyncDone. nil sends nothing before
	// SyncDone.
	FullState func(ctx context.Context, send func(*sensorv1.SensorMessage) error) error
	// OnPolicySync is called with every policy set Central pushes, on the
	// connection's goroutine: it should return quickly.
	OnPolicySync func(*sensorv1.PolicySync)
	// BufferSize bounds the messages waiting to be sent (10,000).
	BufferSize int
	// MinBackoff and MaxBackoff bound the wait between connection attempts
	// (1s, 1m); it doubles after each failure, with jitter.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Heartbeat is how often the Sensor proves it is there (30s); Central
	// silent for three of them ends the stream.
	Heartbeat time.Duration
	// AckTimeout bounds the wait for Central's HelloAck (30s).
	AckTimeout time.Duration
	// MaxMessage is the largest message sent (8 MiB, Central's limit);
	// larger ones are dropped and counted.
	MaxMessage int
	Log        *slog.Logger
}

func (o *Options) fill() {
	if o.BufferSize <= 0 {
		o.BufferSize = 10000
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Minute, o.MinBackoff)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 30 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 8 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Stats are the connection's counters.
type Stats struct {
	Connected bool
	// Connects counts the streams Central accepted (HelloAck received).
	Connects uint64
	// Sent counts messages sent, the full syncs' included.
	Sent uint64
	// Buffered is how many messages wait; Dropped how many were dropped
	// because the buffer was full, or were larger than MaxMessage.
	Buffered int
	Dropped  uint64
}

// Client is a Sensor's connection to Central.
type Client struct {
	opts   Options
	grpc   *grpc.ClientConn
	rpc    sensorv1.SensorServiceClient
	buf    *buffer
	cancel context.CancelFunc
	done   chan struct{}

	connects  atomic.Uint64
	sent      atomic.Uint64
	oversized atomic.Uint64
	connected atomic.Bool

	mu        sync.Mutex
	clusterID string
	lastErr   error
	policies  *sensorv1.PolicySync
	synced    chan struct{} // closed when the current stream's SyncDone was sent
}

// Dial starts connecting to Central at centralAddr (HOST:PORT) with the
// bundle's Sensor certificate, trusting the bundle's CA (the system roots
// when it has none). It returns at once; the connection is kept up in the
// background until ctx ends or Close is called.
func Dial(ctx context.Context, centralAddr string, bundle *initbundle.Bundle, opts Options) (*Client, error) {
	opts.fill()
	if opts.Hello.ClusterName == "" {
		return nil, errors.New("dial central: no cluster name")
	}
	host, _, err := net.SplitHostPort(centralAddr)
	if err != nil {
		return nil, fmt.Errorf("dial central %q: want HOST:PORT: %w", centralAddr, err)
	}
	cert, err := tls.X509KeyPair(bundle.Sensor.Cert, bundle.Sensor.Key)
	if err != nil {
		return nil, fmt.Errorf("dial central: init bundle sensor certificate: %w", err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, Certificates: []tls.Certificate{cert}}
	if len(bundle.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bundle.CA) {
			return nil, errors.New("dial central: init bundle CA holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	cc, err := grpc.NewClient(centralAddr, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		// The channel's own reconnect backoff follows ours, or it would
		// hold a stream attempt back for up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: opts.MinBackoff, Multiplier: 2, Jitter: 0.2, MaxDelay: opts.MaxBackoff},
			MinConnectTimeout: 20 * time.Second,
		}))
	if err != nil {
		return nil, fmt.Errorf("dial central %s: %w", centralAddr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Client{opts: opts, grpc: cc, rpc: sensorv1.NewSensorServiceClient(cc), buf: newBuffer(opts.BufferSize),
		cancel: cancel, done: make(chan struct{}), synced: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
	return c, nil
}

// Send queues m for Central. It never blocks: while Central is away the
// message waits in the buffer, which drops its oldest message when full.
func (c *Client) Send(m *sensorv1.SensorMessage) { c.buf.push(m) }

// Close stops the connection and waits for it to end. Buffered messages
// are not sent.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	if err := c.grpc.Close(); err != nil {
		return fmt.Errorf("close central connection: %w", err)
	}
	return nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	held, dropped := c.buf.stats()
	return Stats{Connected: c.connected.Load(), Connects: c.connects.Load(), Sent: c.sent.Load(),
		Buffered: held, Dropped: dropped + c.oversized.Load()}
}

// ClusterID is Central's id of the cluster, once a HelloAck came.
func (c *Client) ClusterID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clusterID
}

// LastError is why the last connection attempt or stream ended, or nil.
func (c *Client) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Policies is the last policy set Central pushed, or nil.
func (c *Client) Policies() *sensorv1.PolicySync {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policies
}

// WaitSynced waits until the current stream has sent its full state and
// SyncDone.
func (c *Client) WaitSynced(ctx context.Context) error {
	c.mu.Lock()
	ch := c.synced
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		if err := c.LastError(); err != nil {
			return fmt.Errorf("%w (last connection error: %w)", ctx.Err(), err)
		}
		return ctx.Err()
	}
}

// run keeps a stream up until ctx ends.
func (c *Client) run(ctx context.Context) {
	delay := c.opts.MinBackoff
	for {
		start := time.Now()
		acked, err := c.stream(ctx)
		c.connected.Store(false)
		c.mu.Lock()
		select {
		case <-c.synced:
			c.synced = make(chan struct{})
		default:
		}
		if ctx.Err() == nil {
			c.lastErr = err
		}
		c.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		// A stream that was accepted and lasted resets the delay.
		if acked && time.Since(start) > c.opts.MaxBackoff {
			delay = c.opts.MinBackoff
		}
		wait := delay/2 + rand.N(delay/2+1) //nolint:gosec // G404: jitter spreads reconnects; it guards no secret
		c.opts.Log.Warn("central connection lost; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		delay = min(2*delay, c.opts.MaxBackoff)
	}
}

// stream runs one stream: hello, full sync, then buffered messages and
// heartbeats until it fails. acked says Central accepted the hello.
func (c *Client) stream(ctx context.Context) (acked bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.rpc.Communicate(ctx)
	if err != nil {
		return false, err
	}
	h := c.opts.Hello
	if err := st.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Hello{Hello: &sensorv1.Hello{
		ClusterName: h.ClusterName, SensorVersion: h.SensorVersion, KubernetesVersion: h.KubernetesVersion, Capabilities: h.Capabilities,
	}}}); err != nil {
		return false, recvErr(st, err)
	}
	ack := make(chan string, 1)
	errc := make(chan error, 1)
	var lastRecv atomic.Int64
	lastRecv.Store(time.Now().UnixNano())
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			lastRecv.Store(time.Now().UnixNano())
			switch msg := m.GetMsg().(type) {
			case *sensorv1.CentralMessage_HelloAck:
				select {
				case ack <- msg.HelloAck.GetClusterId():
				default:
				}
			case *sensorv1.CentralMessage_PolicySync:
				c.mu.Lock()
				c.policies = msg.PolicySync
				c.mu.Unlock()
				if c.opts.OnPolicySync != nil {
					c.opts.OnPolicySync(msg.PolicySync)
				}
			}
		}
	}()
	timer := time.NewTimer(c.opts.AckTimeout)
	defer timer.Stop()
	select {
	case id := <-ack:
		c.mu.Lock()
		c.clusterID = id
		c.mu.Unlock()
	case err := <-errc:
		return false, err
	case <-timer.C:
		return false, fmt.Errorf("no HelloAck from central within %s", c.opts.AckTimeout)
	case <-ctx.Done():
		return false, ctx.Err()
	}
	c.connects.Add(1)
	c.connected.Store(true)
	c.opts.Log.Info("connected to central", "cluster", h.ClusterName, "cluster_id", c.ClusterID())

	send := func(m *sensorv1.SensorMessage) error {
		if size := proto.Size(m); size > c.opts.MaxMessage {
			c.oversized.Add(1)
			c.opts.Log.Warn("message too large for central dropped", "bytes", size, "max", c.opts.MaxMessage)
			return nil
		}
		if err := st.Send(m); err != nil {
			// gRPC reports a broken stream to Send as io.EOF; the reader
			// gets its status.
			select {
			case rerr := <-errc:
				return rerr
			case <-time.After(c.opts.AckTimeout):
				return err
			}
		}
		c.sent.Add(1)
		return nil
	}
	if n := c.buf.dropIf(superseded); n > 0 {
		c.opts.Log.Debug("buffered state superseded by the full sync", "messages", n)
	}
	if c.opts.FullState != nil {
		if err := c.opts.FullState(ctx, send); err != nil {
			return true, fmt.Errorf("full sync: %w", err)
		}
	}
	if err := send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_SyncDone{SyncDone: &sensorv1.SyncDone{}}}); err != nil {
		return true, err
	}
	c.mu.Lock()
	close(c.synced)
	c.mu.Unlock()

	beat := time.NewTicker(c.opts.Heartbeat)
	defer beat.Stop()
	for {
		for m := c.buf.peek(); m != nil; m = c.buf.peek() {
			if err := send(m); err != nil {
				return true, err
			}
			c.buf.pop(m)
		}
		select {
		case <-c.buf.ready:
		case now := <-beat.C:
			if silent := now.Sub(time.Unix(0, lastRecv.Load())); silent > 3*c.opts.Heartbeat {
				return true, fmt.Errorf("central silent for %s", silent.Round(time.Second))
			}
			if err := send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Heartbeat{
				Heartbeat: &sensorv1.Heartbeat{TimeUnixNano: now.UnixNano()}}}); err != nil {
				return true, err
			}
		case err := <-errc:
			return true, err
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// recvErr turns a failed Send, which gRPC reports as io.EOF, into the
// stream's status; only for before the reader goroutine runs.
func recvErr(st sensorv1.SensorService_CommunicateClient, sendErr error) error {
	if _, err := st.Recv(); err != nil {
		return err
	}
	return sendErr
}

// superseded says whether the full sync replaces a buffered message: the
// state of deployments and their current alerts. Admission's records
// (ATTEMPTED, break-glass) and Kubernetes events are kept.
func superseded(m *sensorv1.SensorMessage) bool {
	switch msg := m.GetMsg().(type) {
	case *sensorv1.SensorMessage_Deployment, *sensorv1.SensorMessage_SyncDone, *sensorv1.SensorMessage_Heartbeat, *sensorv1.SensorMessage_Hello:
		return true
	case *sensorv1.SensorMessage_Alert:
		s := msg.Alert.GetState()
		return !msg.Alert.GetBreakGlass() && (s == sensorv1.AlertState_ACTIVE || s == sensorv1.AlertState_RESOLVED)
	}
	return false
}
