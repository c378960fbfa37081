//go:build unix

package cli

import (
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// refusingAddr returns a loopback address whose connections are refused: a
// TCP socket bound to it but not listening, held for the test's duration so
// that no other process takes the port.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

func TestCentralUnreachableExitsThree(t *testing.T) {
	addr := refusingAddr(t)
	for _, env := range []map[string]string{
		{"STOCKADE_ENDPOINT": addr, "STOCKADE_API_TOKEN": "tok-123"},
		{"ROX_ENDPOINT": addr, "ROX_API_TOKEN": "tok-123"},
	} {
		r := run(t, env, privilegedPod, "deployment", "check", "-f", "-", "--retries", "1")
		if r.code != ExitCentral {
			t.Fatalf("%s", r)
		}
		want := "stockade: central at " + addr + " is not reachable: "
		if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "(after 2 attempts)") {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
		if !strings.Contains(r.stderr, `msg="retrying request to central"`) {
			t.Errorf("the retry was not logged:\n%s", r.stderr)
		}
		if strings.Contains(r.stderr, "tok-123") {
			t.Errorf("stderr reveals the token:\n%s", r.stderr)
		}
	}
	// --offline wins over a configured endpoint.
	r := run(t, map[string]string{"STOCKADE_ENDPOINT": addr}, privilegedPod, "deployment", "check", "-f", "-", "--offline", "-o", "json")
	if r.code != ExitViolations {
		t.Errorf("offline with an endpoint in the environment:\n%s", r)
	}
}
