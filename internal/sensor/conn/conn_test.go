package conn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/initbundle"
)

// ca is a test CA that issues server and client certificates.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	sn   int64
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), sn: 1}
}

func (c *ca) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) initbundle.KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c.sn++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(c.sn), Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return initbundle.KeyPair{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}
}

// central is a stand-in for Central's SensorService, over real gRPC and
// mutual TLS, recording every stream's messages.
type central struct {
	sensorv1.UnimplementedSensorServiceServer
	addr string
	srv  *grpc.Server

	mu      sync.Mutex
	streams [][]*sensorv1.SensorMessage
	kill    chan struct{} // closed to end the current stream
	mute    bool          // answer no heartbeats
}

func (c *central) Communicate(st sensorv1.SensorService_CommunicateServer) error {
	c.mu.Lock()
	idx := len(c.streams)
	c.streams = append(c.streams, nil)
	kill := c.kill
	c.mu.Unlock()
	msgs := make(chan *sensorv1.SensorMessage)
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			msgs <- m
		}
	}()
	for {
		select {
		case <-kill:
			return status.Error(codes.Unavailable, "killed by the test")
		case err := <-errc:
			return err
		case m := <-msgs:
			c.mu.Lock()
			c.streams[idx] = append(c.streams[idx], m)
			mute := c.mute
			c.mu.Unlock()
			var reply []*sensorv1.CentralMessage
			switch m.GetMsg().(type) {
			case *sensorv1.SensorMessage_Hello:
				reply = append(reply,
					&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_HelloAck{HelloAck: &sensorv1.HelloAck{ClusterId: "cluster-1"}}},
					&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_PolicySync{PolicySync: &sensorv1.PolicySync{Generation: uint64(idx + 1), PoliciesJson: []byte("[]")}}})
			case *sensorv1.SensorMessage_Heartbeat:
				if !mute {
					reply = append(reply, &sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_Heartbeat{Heartbeat: &sensorv1.Heartbeat{}}})
				}
			}
			for _, r := range reply {
				if err := st.Send(r); err != nil {
					return err
				}
			}
		}
	}
}

// serve starts the server on addr ("127.0.0.1:0" for any port).
func (c *central) serve(t *testing.T, authority *ca, addr string) {
	t.Helper()
	server := authority.issue(t, "central", x509.ExtKeyUsageServerAuth)
	cert, err := tls.X509KeyPair(server.Cert, server.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(authority.cert)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.addr = l.Addr().String()
	c.kill = make(chan struct{})
	c.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})))
	sensorv1.RegisterSensorServiceServer(c.srv, c)
	go func() { _ = c.srv.Serve(l) }()
	t.Cleanup(c.srv.Stop)
}

func (c *central) killStream() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.kill)
	c.kill = make(chan struct{})
}

// stream returns a stream's messages, summarised: "hello", "sync", "hb",
// "dep:ID", "alert:ID:STATE", "kube:POD".
func (c *central) stream(i int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i >= len(c.streams) {
		return nil
	}
	var out []string
	for _, m := range c.streams[i] {
		switch msg := m.GetMsg().(type) {
		case *sensorv1.SensorMessage_Hello:
			out = append(out, "hello:"+msg.Hello.GetClusterName())
		case *sensorv1.SensorMessage_SyncDone:
			out = append(out, "sync")
		case *sensorv1.SensorMessage_Heartbeat:
		case *sensorv1.SensorMessage_Deployment:
			out = append(out, "dep:"+msg.Deployment.GetId())
		case *sensorv1.SensorMessage_Alert:
			out = append(out, "alert:"+msg.Alert.GetDeploymentId()+":"+msg.Alert.GetState().String())
		case *sensorv1.SensorMessage_KubeEvent:
			out = append(out, "kube:"+msg.KubeEvent.GetPod())
		}
	}
	return out
}

func (c *central) heartbeats(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.streams[i] {
		if m.GetHeartbeat() != nil {
			n++
		}
	}
	return n
}

func dep(id string) *sensorv1.SensorMessage {
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: &sensorv1.DeploymentEvent{
		Action: sensorv1.DeploymentEvent_UPDATE, Id: id, DeploymentJson: []byte(`{"ID":"` + id + `"}`)}}}
}

func alert(id string, state sensorv1.AlertState) *sensorv1.SensorMessage {
	return &sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Alert{Alert: &sensorv1.AlertEvent{DeploymentId: id, State: state}}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestBufferWhileAwayThenFullSyncThenBuffered(t *testing.T) {
	authority := newCA(t)
	bundle := &initbundle.Bundle{CA: authority.pem, Sensor: authority.issue(t, "sensor", x509.ExtKeyUsageClientAuth)}
	addr := freeAddr(t)
	var (
		mu       sync.Mutex
		policies []uint64
	)
	cl, err := Dial(context.Background(), addr, bundle, Options{
		Hello: Hello{ClusterName: "prod", SensorVersion: "1"},
		FullState: func(ctx context.Context, send func(*sensorv1.SensorMessage) error) error {
			return send(dep("full-1"))
		},
		OnPolicySync: func(p *sensorv1.PolicySync) {
			mu.Lock()
			policies = append(policies, p.GetGeneration())
			mu.Unlock()
		},
		BufferSize: 5,
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
		Heartbeat:  50 * time.Millisecond,
		MaxMessage: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Central is away: seven messages into a buffer of five drop the two
	// oldest.
	for _, m := range []*sensorv1.SensorMessage{dep("d1"), dep("d2"), dep("d3"), dep("d4"),
		alert("a1", sensorv1.AlertState_ATTEMPTED), alert("a2", sensorv1.AlertState_ACTIVE),
		{Msg: &sensorv1.SensorMessage_KubeEvent{KubeEvent: &sensorv1.KubeEvent{Pod: "p1"}}}} {
		cl.Send(m)
	}
	time.Sleep(100 * time.Millisecond) // a few failed attempts
	if st := cl.Stats(); st.Connected || st.Buffered != 5 || st.Dropped != 2 || cl.LastError() == nil {
		t.Fatalf("while away: %+v, last error %v", st, cl.LastError())
	}

	// Central comes up: hello, the full state, SyncDone, then what the
	// full state does not supersede, in order.
	srv := &central{}
	srv.serve(t, authority, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"hello:prod", "dep:full-1", "sync", "alert:a1:ATTEMPTED", "kube:p1"}
	waitFor(t, "the buffered messages", func() bool { return equal(srv.stream(0), want) })
	if cl.ClusterID() != "cluster-1" {
		t.Errorf("cluster id %q", cl.ClusterID())
	}
	mu.Lock()
	if len(policies) != 1 || policies[0] != 1 || cl.Policies().GetGeneration() != 1 {
		t.Errorf("policy syncs %v", policies)
	}
	mu.Unlock()
	waitFor(t, "heartbeats", func() bool { return srv.heartbeats(0) >= 2 })

	// Live sends go straight out; an oversized one is dropped and counted.
	cl.Send(dep("live"))
	cl.Send(&sensorv1.SensorMessage{Msg: &sensorv1.SensorMessage_Deployment{Deployment: &sensorv1.DeploymentEvent{
		Id: "huge", DeploymentJson: []byte(strings.Repeat("x", 8000))}}})
	cl.Send(dep("after"))
	waitFor(t, "live messages", func() bool { return equal(srv.stream(0), append(want, "dep:live", "dep:after")) })
	if st := cl.Stats(); st.Dropped != 3 || st.Buffered != 0 || !st.Connected || st.Connects != 1 {
		t.Errorf("after live sends: %+v", st)
	}

	// Central ends the stream: the client reconnects and syncs again.
	srv.killStream()
	waitFor(t, "the second stream's sync", func() bool { return equal(srv.stream(1), []string{"hello:prod", "dep:full-1", "sync"}) })
	if st := cl.Stats(); st.Connects != 2 || status.Code(cl.LastError()) != codes.Unavailable {
		t.Errorf("after the kill: %+v, last error %v", st, cl.LastError())
	}
	mu.Lock()
	if len(policies) != 2 || policies[1] != 2 {
		t.Errorf("policy syncs %v", policies)
	}
	mu.Unlock()

	// A Central that stops answering heartbeats is left and reconnected.
	srv.mu.Lock()
	srv.mute = true
	srv.mu.Unlock()
	waitFor(t, "the silent stream to be left", func() bool {
		return cl.LastError() != nil && strings.Contains(cl.LastError().Error(), "central silent")
	})
	srv.mu.Lock()
	srv.mute = false
	srv.mu.Unlock()
	waitFor(t, "the reconnect after silence", func() bool { return cl.Stats().Connects >= 3 })
}

func TestDialRefusesBadInput(t *testing.T) {
	authority := newCA(t)
	good := &initbundle.Bundle{CA: authority.pem, Sensor: authority.issue(t, "sensor", x509.ExtKeyUsageClientAuth)}
	other := authority.issue(t, "other", x509.ExtKeyUsageClientAuth)
	for name, tc := range map[string]struct {
		addr   string
		bundle *initbundle.Bundle
		opts   Options
		want   string
	}{
		"no cluster":   {"127.0.0.1:1", good, Options{}, "no cluster name"},
		"no port":      {"127.0.0.1", good, Options{Hello: Hello{ClusterName: "x"}}, "HOST:PORT"},
		"key mismatch": {"127.0.0.1:1", &initbundle.Bundle{Sensor: initbundle.KeyPair{Cert: good.Sensor.Cert, Key: other.Key}}, Options{Hello: Hello{ClusterName: "x"}}, "sensor certificate"},
		"bad CA":       {"127.0.0.1:1", &initbundle.Bundle{CA: []byte("nope"), Sensor: good.Sensor}, Options{Hello: Hello{ClusterName: "x"}}, "CA holds no PEM"},
	} {
		if _, err := Dial(context.Background(), tc.addr, tc.bundle, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func TestBackoffSpreadsAttempts(t *testing.T) {
	// A listener that accepts and hangs up counts the attempts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var (
		mu       sync.Mutex
		attempts []time.Time
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			_ = c.Close()
		}
	}()
	authority := newCA(t)
	cl, err := Dial(context.Background(), l.Addr().String(), &initbundle.Bundle{CA: authority.pem, Sensor: authority.issue(t, "s", x509.ExtKeyUsageClientAuth)},
		Options{Hello: Hello{ClusterName: "x"}, MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Without backoff a loop would make hundreds of attempts; with it,
	// waits grow from ~50ms to 400ms.
	if n := len(attempts); n < 3 || n > 20 {
		t.Fatalf("%d connection attempts in 2s", n)
	}
	gaps := make([]string, 0, len(attempts))
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, fmt.Sprint(attempts[i].Sub(attempts[i-1]).Round(time.Millisecond)))
	}
	t.Logf("gaps between attempts: %v", gaps)
	last := attempts[len(attempts)-1].Sub(attempts[len(attempts)-2])
	if last < 150*time.Millisecond {
		t.Errorf("the last wait was %s: the backoff did not grow", last)
	}
}

func TestBufferDropsOldestAndKeepsOrder(t *testing.T) {
	b := newBuffer(3)
	for i := range 5 {
		b.push(dep(fmt.Sprint(i)))
	}
	held, dropped := b.stats()
	if held != 3 || dropped != 2 {
		t.Fatalf("held %d, dropped %d", held, dropped)
	}
	b.push(alert("x", sensorv1.AlertState_ATTEMPTED))
	if n := b.dropIf(superseded); n != 2 {
		t.Fatalf("superseded %d", n)
	}
	b.push(dep("5"))
	var got []string
	for m := b.peek(); m != nil; m = b.peek() {
		if d := m.GetDeployment(); d != nil {
			got = append(got, d.GetId())
		} else {
			got = append(got, "alert")
		}
		b.pop(m)
	}
	if !equal(got, []string{"alert", "5"}) {
		t.Fatalf("order %v", got)
	}
	// pop of a message no longer at the head removes nothing.
	m := dep("6")
	b.push(m)
	b.push(dep("7"))
	b.pop(dep("other"))
	if held, _ := b.stats(); held != 2 {
		t.Fatalf("held %d after a stale pop", held)
	}
}

func TestSuperseded(t *testing.T) {
	bg := alert("x", sensorv1.AlertState_ACTIVE)
	bg.GetAlert().BreakGlass = true
	for m, want := range map[*sensorv1.SensorMessage]bool{
		dep("d"): true,
		{Msg: &sensorv1.SensorMessage_SyncDone{SyncDone: &sensorv1.SyncDone{}}}: true,
		alert("x", sensorv1.AlertState_ACTIVE):                                  true,
		alert("x", sensorv1.AlertState_RESOLVED):                                true,
		alert("x", sensorv1.AlertState_ATTEMPTED):                               false,
		bg: false,
		{Msg: &sensorv1.SensorMessage_KubeEvent{KubeEvent: &sensorv1.KubeEvent{}}}: false,
	} {
		if superseded(m) != want {
			t.Errorf("superseded(%v) = %v", m, !want)
		}
	}
}
