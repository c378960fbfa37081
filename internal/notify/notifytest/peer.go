package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Request is one request as a Peer saw it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Peer is a local HTTP service: it records each request and answers it as
// told. It is closed when the test ends.
type Peer struct {
	*httptest.Server
	reqs chan Request
}

// NewPeer starts a Peer (over TLS with a certificate of httptest's when
// useTLS) that answers every request with answer.
func NewPeer(t testing.TB, useTLS bool, answer func(w http.ResponseWriter)) *Peer {
	t.Helper()
	p := &Peer{reqs: make(chan Request, 16)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			t.Errorf("peer: read body: %v", err)
		}
		p.reqs <- Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		answer(w)
	})
	if useTLS {
		p.Server = httptest.NewTLSServer(h)
	} else {
		p.Server = httptest.NewServer(h)
	}
	t.Cleanup(p.Close)
	return p
}

// Refuse answers status with body, after setting the headers given as
// name, value pairs (e.g. "Retry-After", "7").
func Refuse(status int, body string, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// Next is the next request the peer got, waiting up to 5 seconds for it.
func (p *Peer) Next(t testing.TB) Request {
	t.Helper()
	select {
	case r := <-p.reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("peer got no request")
	}
	return Request{}
}

// None fails t when the peer got a request not yet taken by Next.
func (p *Peer) None(t testing.TB) {
	t.Helper()
	select {
	case r := <-p.reqs:
		t.Fatalf("peer got an unexpected request to %s", r.Path)
	default:
	}
}
