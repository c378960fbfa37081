package syslog

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

// rsyslogd is Debian's rsyslog started by the test with a private
// configuration: a TLS (gtls) and a plain TCP listener and a UDP listener
// on loopback, each writing what it receives to two files in dir — one in
// RSYSLOG_SyslogProtocol23Format (the RFC 5424 fields as rsyslog parsed
// them), one with %rawmsg% (the message exactly as it arrived).
type rsyslogd struct {
	t                         *testing.T
	bin, dir, conf            string
	tlsPort, tcpPort, udpPort int
	caPEM                     string
	cmd                       *exec.Cmd
	done                      chan struct{}
	runs                      int
}

// startRsyslog starts rsyslogd, or skips the test when it (or its gtls
// driver, Debian package rsyslog-gnutls) is not installed, unless
// STOCKADE_REQUIRE_RSYSLOG=1.
func startRsyslog(t *testing.T) *rsyslogd {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr == nil {
			bin, err = "/usr/sbin/rsyslogd", nil
		}
	}
	gtls, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
	if err != nil || len(gtls) == 0 {
		msg := "rsyslogd with its gtls driver is not installed (Debian packages rsyslog and rsyslog-gnutls; make test-deps installs them)"
		if os.Getenv("STOCKADE_REQUIRE_RSYSLOG") == "1" {
			t.Fatal(msg + ", and STOCKADE_REQUIRE_RSYSLOG=1")
		}
		t.Skip(msg)
	}

	dir := t.TempDir()
	r := &rsyslogd{t: t, bin: bin, dir: dir, conf: filepath.Join(dir, "rsyslog.conf")}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	r.caPEM = writeSelfSigned(t, certFile, keyFile)
	r.tlsPort, r.tcpPort, r.udpPort = freeTCPPort(t), freeTCPPort(t), freeUDPPort(t)
	for r.tcpPort == r.tlsPort {
		r.tcpPort = freeTCPPort(t)
	}
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}

	var conf strings.Builder
	fmt.Fprintf(&conf, `global(workDirectory=%q maxMessageSize="256k"
  defaultNetstreamDriverCAFile=%q
  defaultNetstreamDriverCertFile=%q
  defaultNetstreamDriverKeyFile=%q)
module(load="imtcp")
module(load="imudp")
template(name="raw" type="string" string="%%rawmsg%%\n")
`, filepath.Join(dir, "work"), certFile, certFile, keyFile)
	for _, rs := range []string{"tls", "tcp", "udp"} {
		fmt.Fprintf(&conf, `ruleset(name=%q) {
  action(type="omfile" file=%q template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfile" file=%q template="raw")
}
`, rs, filepath.Join(dir, rs+".log"), filepath.Join(dir, rs+".raw"))
	}
	fmt.Fprintf(&conf, `input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tls"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="%d" ruleset="udp")
`, r.tlsPort, r.tcpPort, r.udpPort)
	if err := os.WriteFile(r.conf, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *rsyslogd) start() {
	t := r.t
	t.Helper()
	r.runs++
	out, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("rsyslogd-%d.out", r.runs)))
	if err != nil {
		t.Fatal(err)
	}
	pid := filepath.Join(r.dir, fmt.Sprintf("rsyslogd-%d.pid", r.runs))
	r.cmd = exec.Command(r.bin, "-n", "-f", r.conf, "-i", pid)
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		_ = out.Close()
		close(done)
	}(r.cmd, r.done)

	deadline := time.Now().Add(15 * time.Second)
	for _, port := range []int{r.tcpPort, r.tlsPort} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				_ = c.Close()
				break
			}
			select {
			case <-r.done:
				t.Fatalf("rsyslogd exited at start:\n%s", r.output())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("rsyslogd does not listen on port %d after 15s:\n%s", port, r.output())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// stop ends rsyslogd with SIGTERM (SIGKILL after 10 s) and waits for it.
func (r *rsyslogd) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *rsyslogd) output() string {
	var b strings.Builder
	for i := 1; i <= r.runs; i++ {
		out, _ := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("rsyslogd-%d.out", i)))
		b.Write(out)
	}
	return b.String()
}

// lines waits until file (e.g. "tls.log") holds at least n lines and
// returns them all.
func (r *rsyslogd) lines(file string, n int) []string {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := readLines(t, filepath.Join(r.dir, file))
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines after 15s, want %d:\n%s\nrsyslogd said:\n%s", file, len(got), n, strings.Join(got, "\n"), r.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost and its key, and returns the certificate's PEM.
func writeSelfSigned(t *testing.T, certFile, keyFile string) string {
	t.Helper()
	cert, certPEM := notifytest.SelfSigned(t, "rsyslog test receiver")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
