package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func alert() *notifier.Alert {
	return &notifier.Alert{
		ID: "a-1", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p-1", Name: `Privileged | "root" \ container`, Severity: "HIGH_SEVERITY",
			Categories: []string{"Privileges", "Docker CIS"},
		},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment",
			Containers: []notifier.Container{{Name: "app", Image: "registry.example/web:2.1"}},
		},
		Violations: []notifier.Violation{
			{Message: "Container 'app' is privileged"},
			{Message: "env a=b\\c\nnext line"},
		},
		Enforcement:   "SCALE_TO_ZERO_ENFORCEMENT",
		FirstOccurred: testTime.Add(-time.Hour), Time: testTime,
		Link: "https://stockade.example/main/violations/a-1",
	}
}

func config(s *notifier.Syslog) notifier.Config {
	return notifier.Config{ID: "n1", Name: "siem", Type: notifier.TypeSyslog, UIEndpoint: "https://stockade.example", Syslog: s}
}

func newNotifier(t *testing.T, s *notifier.Syslog) *Notifier {
	t.Helper()
	n, err := New(config(s))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// rfc5424 is a line of RSYSLOG_SyslogProtocol23Format taken apart.
type rfc5424 struct {
	pri                                       int
	version, ts, host, app, procID, msgID, sd string
	msg                                       string
}

func parse5424(t *testing.T, line string) rfc5424 {
	t.Helper()
	p := strings.SplitN(line, " ", 8)
	if len(p) != 8 || !strings.HasPrefix(p[0], "<") {
		t.Fatalf("not an RFC 5424 line: %q", line)
	}
	end := strings.IndexByte(p[0], '>')
	pri, err := strconv.Atoi(p[0][1:end])
	if err != nil {
		t.Fatalf("PRI in %q: %v", line, err)
	}
	return rfc5424{pri: pri, version: p[0][end+1:], ts: p[1], host: p[2], app: p[3], procID: p[4], msgID: p[5], sd: p[6], msg: p[7]}
}

func checkHeader(t *testing.T, l rfc5424, pri int, msgID string, ts time.Time) {
	t.Helper()
	if l.pri != pri || l.version != "1" || l.app != "stockade" || l.procID != "-" || l.msgID != msgID || l.sd != "-" {
		t.Errorf("header pri=%d version=%s app=%s procid=%s msgid=%s sd=%s, want pri=%d version=1 app=stockade procid=- msgid=%s sd=-",
			l.pri, l.version, l.app, l.procID, l.msgID, l.sd, pri, msgID)
	}
	if l.host != hostname() {
		t.Errorf("HOSTNAME %q, want %q", l.host, hostname())
	}
	if got, err := time.Parse(time.RFC3339Nano, l.ts); err != nil || !got.Equal(ts) {
		t.Errorf("TIMESTAMP %q (%v), want %s", l.ts, err, ts.Format(time.RFC3339Nano))
	}
}

// parseCEF splits a CEF record into its seven header fields (unescaped)
// and its extensions (unescaped), failing on anything CEF does not allow.
func parseCEF(t *testing.T, s string) ([]string, map[string]string) {
	t.Helper()
	var hdr []string
	var cur strings.Builder
	i := 0
	for ; i < len(s) && len(hdr) < 7; i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '|'):
			cur.WriteByte(s[i+1])
			i++
		case c == '\\':
			t.Fatalf("bad escape in CEF header at %d: %q", i, s)
		case c == '|':
			hdr = append(hdr, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if len(hdr) != 7 {
		t.Fatalf("CEF header has %d fields: %q", len(hdr), s)
	}
	ext := map[string]string{}
	rest := s[i:]
	keyAt := regexp.MustCompile(`^([A-Za-z0-9]+)=`)
	for rest != "" {
		m := keyAt.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("CEF extension does not start with a key: %q", rest)
		}
		key := m[1]
		rest = rest[len(m[0]):]
		var v strings.Builder
		for rest != "" {
			if rest[0] == ' ' && keyAt.MatchString(rest[1:]) {
				rest = rest[1:]
				break
			}
			if rest[0] == '\\' {
				if len(rest) < 2 {
					t.Fatalf("dangling backslash in %q", s)
				}
				switch rest[1] {
				case '\\', '=':
					v.WriteByte(rest[1])
				case 'n':
					v.WriteByte('\n')
				case 'r':
					v.WriteByte('\r')
				default:
					t.Fatalf("bad escape \\%c in CEF extension %q", rest[1], s)
				}
				rest = rest[2:]
				continue
			}
			if rest[0] == '=' {
				t.Fatalf("unescaped '=' in the value of %s: %q", key, s)
			}
			v.WriteByte(rest[0])
			rest = rest[1:]
		}
		if _, dup := ext[key]; dup {
			t.Fatalf("extension %s twice in %q", key, s)
		}
		ext[key] = v.String()
	}
	return hdr, ext
}

// labeled is the custom extension (cs1…, cn1…, flexString1…) labeled name.
func labeled(ext map[string]string, name string) string {
	for k, v := range ext {
		if v == name && strings.HasSuffix(k, "Label") {
			return ext[strings.TrimSuffix(k, "Label")]
		}
	}
	return "<no " + name + ">"
}

var legacyPair = regexp.MustCompile(`([A-Za-z0-9_.-]+)="((?:[^"\\]|\\.)*)"`)

func parseLegacy(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if rest := legacyPair.ReplaceAllString(s, ""); strings.TrimSpace(rest) != "" {
		t.Errorf("LEGACY message has text outside key=\"value\" pairs: %q", rest)
	}
	for _, m := range legacyPair.FindAllStringSubmatch(s, -1) {
		v, err := strconv.Unquote(`"` + m[2] + `"`)
		if err != nil {
			t.Fatalf("unquote %s=%q: %v", m[1], m[2], err)
		}
		out[m[1]] = v
	}
	return out
}

func TestCEFOverTLSToRsyslog(t *testing.T) {
	r := startRsyslog(t)
	n := newNotifier(t, &notifier.Syslog{
		LocalFacility: "LOCAL3", MessageFormat: "CEF", AuditLoggingEnabled: true,
		TCPConfig:   &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: r.tlsPort, UseTLS: true, CACert: r.caPEM},
		ExtraFields: []notifier.KeyValue{{Key: "deviceCustomDate1", Value: "x=y"}, {Key: "sourceSystem", Value: "prod|eu"}},
	})
	ctx := context.Background()
	msgs := []*notifier.Message{
		{ID: "m-test", Kind: notifier.KindTest, Time: testTime},
		{ID: "m-new", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: alert()},
		{ID: "m-resolved", Kind: notifier.KindAlert, Event: notifier.EventResolved, Time: testTime, Alert: alert()},
		{ID: "m-reopened", Kind: notifier.KindAlert, Event: notifier.EventReopened, Time: testTime, Alert: alert()},
		{ID: "m-summary", Kind: notifier.KindSummary, Time: testTime, Summary: &notifier.Summary{
			Count: 1234, From: testTime.Add(-5 * time.Minute), To: testTime,
			BySeverity:  map[string]int{"CRITICAL_SEVERITY": 4, "LOW_SEVERITY": 1000},
			TopPolicies: []notifier.PolicyCount{{Name: "Latest tag", Count: 900}, {Name: "Root = bad", Count: 300}},
		}},
		{ID: "m-audit", Kind: notifier.KindAudit, Time: testTime, Audit: &notifier.Audit{
			Time: testTime, User: "alice@example.com", Role: "Admin", Method: "PUT", Path: "/v1/policies/p-1",
			Status: 200, SourceIP: "10.1.2.3:51234", Interaction: "UPDATE",
		}},
	}
	for _, m := range msgs {
		if err := n.Send(ctx, m); err != nil {
			t.Fatalf("Send %s: %v", m.ID, err)
		}
	}
	lines := r.lines("tls.log", len(msgs))
	raw := r.lines("tls.raw", len(msgs))
	const local3 = 19 * 8

	// Every line arrived as sent: octet counting framed it exactly.
	for i, m := range msgs {
		rec, err := n.record(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := string(n.encode(rec)); raw[i] != want {
			t.Errorf("raw %s:\n got %q\nwant %q", m.ID, raw[i], want)
		}
	}

	// Test message.
	l := parse5424(t, lines[0])
	checkHeader(t, l, local3+sevNotice, "test", testTime)
	hdr, ext := parseCEF(t, l.msg)
	if strings.Join(hdr, "|") != "CEF:0|Stockade|Stockade|dev|stockade-test|Stockade test message|3" {
		t.Errorf("test CEF header %q", hdr)
	}
	if !strings.HasPrefix(ext["msg"], "Test message from Stockade: ") || labeled(ext, "deliveryId") != "m-test" {
		t.Errorf("test extensions %v", ext)
	}

	// Alert events: NEW and REOPENED at the policy's severity (High → err),
	// RESOLVED at informational.
	for i, c := range []struct {
		event string
		sev   int
	}{{"NEW", sevError}, {"RESOLVED", sevInfo}, {"REOPENED", sevError}} {
		l := parse5424(t, lines[1+i])
		checkHeader(t, l, local3+c.sev, "alert", testTime)
		hdr, ext := parseCEF(t, l.msg)
		want := []string{"CEF:0", "Stockade", "Stockade", "dev", "p-1", `Privileged | "root" \ container`, "8"}
		if strings.Join(hdr, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s CEF header %q, want %q", c.event, hdr, want)
		}
		for k, v := range map[string]string{
			"rt": strconv.FormatInt(testTime.UnixMilli(), 10), "start": strconv.FormatInt(testTime.Add(-time.Hour).UnixMilli(), 10),
			"externalId": "a-1", "cat": "DEPLOY", "act": "SCALE_TO_ZERO_ENFORCEMENT",
			"msg":     "Container 'app' is privileged; env a=b\\c\nnext line",
			"dvchost": hostname(), "deviceCustomDate1": "x=y", "sourceSystem": "prod|eu",
		} {
			if ext[k] != v {
				t.Errorf("%s: %s=%q, want %q", c.event, k, ext[k], v)
			}
		}
		for k, v := range map[string]string{
			"event": c.event, "cluster": "prod", "namespace": "shop", "deployment": "web",
			"categories": "Privileges,Docker CIS", "image": "registry.example/web:2.1",
			"link": "https://stockade.example/main/violations/a-1", "deliveryId": msgs[1+i].ID,
		} {
			if got := labeled(ext, k); got != v {
				t.Errorf("%s: %s=%q, want %q", c.event, k, got, v)
			}
		}
	}

	// Summary at the worst severity folded (Critical → crit).
	l = parse5424(t, lines[4])
	checkHeader(t, l, local3+sevCritical, "summary", testTime)
	hdr, ext = parseCEF(t, l.msg)
	if hdr[4] != "summary" || hdr[6] != "10" {
		t.Errorf("summary CEF header %q", hdr)
	}
	if ext["cnt"] != "1234" || labeled(ext, "bySeverity") != "Critical: 4, Low: 1000" ||
		labeled(ext, "topPolicies") != "Latest tag (900), Root = bad (300)" ||
		ext["msg"] != "1234 more alerts were folded during an alert storm" {
		t.Errorf("summary extensions %v", ext)
	}

	// Audit event.
	l = parse5424(t, lines[5])
	checkHeader(t, l, local3+sevInfo, "audit", testTime)
	hdr, ext = parseCEF(t, l.msg)
	if hdr[4] != "audit" || hdr[5] != "API UPDATE" {
		t.Errorf("audit CEF header %q", hdr)
	}
	for k, v := range map[string]string{"suser": "alice@example.com", "spriv": "Admin", "requestMethod": "PUT",
		"request": "/v1/policies/p-1", "src": "10.1.2.3", "act": "UPDATE"} {
		if ext[k] != v {
			t.Errorf("audit: %s=%q, want %q", k, ext[k], v)
		}
	}
	if labeled(ext, "status") != "200" {
		t.Errorf("audit status %q", labeled(ext, "status"))
	}
}

func TestLegacyOverTCPToRsyslogConcurrentAndReconnecting(t *testing.T) {
	r := startRsyslog(t)
	n := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: r.tcpPort}})
	const senders = 20
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := alert()
			a.ID = fmt.Sprintf("a-%02d", i)
			a.Violations = []notifier.Violation{{Message: strings.Repeat(fmt.Sprintf("v%02d ", i), 500)}}
			errs <- n.Send(context.Background(), &notifier.Message{ID: fmt.Sprint(i), Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: a})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	lines := r.lines("tcp.log", senders)
	seen := map[string]bool{}
	for _, line := range lines {
		l := parse5424(t, line)
		checkHeader(t, l, 20*8+sevError, "alert", testTime) // LOCAL4 by default
		kv := parseLegacy(t, l.msg)
		id := kv["alertId"]
		if seen[id] {
			t.Errorf("alert %s twice", id)
		}
		seen[id] = true
		if want := strings.TrimSpace(strings.Repeat("v"+strings.TrimPrefix(id, "a-")+" ", 500)); strings.TrimSpace(kv["violations"]) != want {
			t.Errorf("alert %s: violations interleaved or cut: %.60q…", id, kv["violations"])
		}
		for k, v := range map[string]string{
			"event": "NEW", "policy": `Privileged | "root" \ container`, "policyId": "p-1", "severity": "HIGH_SEVERITY",
			"cluster": "prod", "namespace": "shop", "deployment": "web", "time": "2026-03-04T05:06:07.123456Z",
			"link": "https://stockade.example/main/violations/a-1", "enforcement": "SCALE_TO_ZERO_ENFORCEMENT",
		} {
			if kv[k] != v {
				t.Errorf("alert %s: %s=%q, want %q", id, k, kv[k], v)
			}
		}
	}
	if len(seen) != senders {
		t.Errorf("%d distinct alerts, want %d", len(seen), senders)
	}

	// The receiver restarts: the connection it closed is noticed and the
	// next message goes over a new one, none lost.
	r.stop()
	err := n.Send(context.Background(), &notifier.Message{ID: "down", Kind: notifier.KindTest, Time: testTime})
	if err == nil || notifier.Permanent(err) || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", r.tcpPort)) {
		t.Errorf("Send while rsyslogd is down: %v, want a retryable error naming the receiver", err)
	}
	r.start()
	if err := n.Send(context.Background(), &notifier.Message{ID: "after-restart", Kind: notifier.KindTest, Time: testTime}); err != nil {
		t.Fatalf("Send after restart: %v", err)
	}
	lines = r.lines("tcp.log", senders+1)
	kv := parseLegacy(t, parse5424(t, lines[senders]).msg)
	if kv["deliveryId"] != "after-restart" || !strings.HasPrefix(kv["violations"], "Test message from Stockade") {
		t.Errorf("after restart: %v", kv)
	}
}

func TestUDPToRsyslogTruncates(t *testing.T) {
	r := startRsyslog(t)
	n := newNotifier(t, &notifier.Syslog{
		LocalFacility: "LOCAL7", MessageFormat: "CEF",
		UDPConfig:   &notifier.SyslogUDP{Hostname: "127.0.0.1", Port: r.udpPort},
		ExtraFields: []notifier.KeyValue{{Key: "team", Value: "platform"}},
	})
	a := alert()
	a.Violations = []notifier.Violation{{Message: strings.Repeat("é=\\", 3000)}}
	// UDP has no handshake: send until rsyslogd's socket reads.
	deadline := time.Now().Add(15 * time.Second)
	for len(readLines(t, r.dir+"/udp.raw")) == 0 {
		if err := n.Send(context.Background(), &notifier.Message{ID: "big", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: a}); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing arrived over UDP:\n%s", r.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	raw := r.lines("udp.raw", 1)[0]
	if len(raw) > DefaultMaxUDP || len(raw) < DefaultMaxUDP-8 {
		t.Errorf("UDP message is %d bytes, want at most and close to %d", len(raw), DefaultMaxUDP)
	}
	l := parse5424(t, r.lines("udp.log", 1)[0])
	checkHeader(t, l, 23*8+sevError, "alert", testTime)
	_, ext := parseCEF(t, l.msg)
	if !strings.HasSuffix(ext["msg"], "…") || !strings.HasPrefix(ext["msg"], "é=\\é=\\") {
		t.Errorf("msg not cut cleanly: %.40q…%q", ext["msg"], ext["msg"][max(0, len(ext["msg"])-20):])
	}
	if ext["team"] != "platform" || labeled(ext, "link") != "https://stockade.example/main/violations/a-1" {
		t.Errorf("fields after the cut one are missing: team=%q link=%q", ext["team"], labeled(ext, "link"))
	}
}

func TestTCPCutsAt64KiBAndTLSNeedsTrust(t *testing.T) {
	r := startRsyslog(t)
	n := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: r.tcpPort}})
	a := alert()
	a.Violations = []notifier.Violation{{Message: strings.Repeat("x", 100<<10)}}
	if err := n.Send(context.Background(), &notifier.Message{ID: "huge", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: a}); err != nil {
		t.Fatal(err)
	}
	raw := r.lines("tcp.raw", 1)[0]
	if len(raw) > DefaultMaxTCP || len(raw) < DefaultMaxTCP-8 {
		t.Errorf("TCP message is %d bytes, want at most and close to %d", len(raw), DefaultMaxTCP)
	}
	kv := parseLegacy(t, parse5424(t, r.lines("tcp.log", 1)[0]).msg)
	if kv["link"] == "" || !strings.HasSuffix(kv["violations"], "x…") {
		t.Errorf("cut message lost its tail fields or marker")
	}

	untrusted := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: r.tlsPort, UseTLS: true}})
	err := untrusted.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), fmt.Sprintf("TLS 127.0.0.1:%d", r.tlsPort)) {
		t.Errorf("untrusted certificate: %v", err)
	}
	skip := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: r.tlsPort, UseTLS: true, SkipTLSVerify: true}})
	if err := skip.Send(context.Background(), &notifier.Message{ID: "skip", Kind: notifier.KindTest}); err != nil {
		t.Errorf("skipTlsVerify: %v", err)
	}
	r.lines("tls.log", 1)
}

func TestUnreachableReceiverIsNamed(t *testing.T) {
	port := freeTCPPort(t)
	n := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: port}})
	err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
	if err == nil || notifier.Permanent(err) || !strings.Contains(err.Error(), fmt.Sprintf("connect to TCP 127.0.0.1:%d", port)) ||
		!strings.Contains(err.Error(), "refused") {
		t.Errorf("error %v", err)
	}
}

func TestWants(t *testing.T) {
	for _, audit := range []bool{false, true} {
		n := newNotifier(t, &notifier.Syslog{AuditLoggingEnabled: audit, UDPConfig: &notifier.SyslogUDP{Hostname: "localhost", Port: 514}})
		for _, c := range []struct {
			kind  notifier.Kind
			event notifier.Event
			want  bool
		}{
			{notifier.KindTest, "", true},
			{notifier.KindAlert, notifier.EventNew, true},
			{notifier.KindAlert, notifier.EventResolved, true},
			{notifier.KindAlert, notifier.EventReopened, true},
			{notifier.KindSummary, "", true},
			{notifier.KindAudit, "", audit},
		} {
			if got := n.Wants(c.kind, c.event); got != c.want {
				t.Errorf("audit=%v: Wants(%s, %s) = %v", audit, c.kind, c.event, got)
			}
		}
		if !audit {
			err := n.Send(context.Background(), &notifier.Message{Kind: notifier.KindAudit, Audit: &notifier.Audit{}})
			if !notifier.Permanent(err) {
				t.Errorf("audit disabled: Send = %v, want a permanent refusal", err)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() notifier.Config {
		return config(&notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "siem.example.com", Port: 6514, UseTLS: true}})
	}
	n, err := New(good())
	if err != nil {
		t.Fatalf("good config: %v", err)
	}
	if n.facility != 20 || n.format != FormatLegacy || n.maxSize != DefaultMaxTCP || n.addr != "siem.example.com:6514" {
		t.Errorf("defaults: facility %d format %s max %d addr %s", n.facility, n.format, n.maxSize, n.addr)
	}
	for _, c := range []struct {
		field string
		edit  func(*notifier.Syslog)
	}{
		{"syslog.tcpConfig", func(s *notifier.Syslog) { s.TCPConfig = nil }},
		{"syslog.udpConfig", func(s *notifier.Syslog) { s.UDPConfig = &notifier.SyslogUDP{Hostname: "x", Port: 514} }},
		{"syslog.tcpConfig.hostname", func(s *notifier.Syslog) { s.TCPConfig.Hostname = " " }},
		{"syslog.tcpConfig.hostname", func(s *notifier.Syslog) { s.TCPConfig.Hostname = "siem:514" }},
		{"syslog.tcpConfig.port", func(s *notifier.Syslog) { s.TCPConfig.Port = 0 }},
		{"syslog.tcpConfig.port", func(s *notifier.Syslog) { s.TCPConfig.Port = 70000 }},
		{"syslog.tcpConfig.caCert", func(s *notifier.Syslog) { s.TCPConfig.CACert = "nope" }},
		{"syslog.localFacility", func(s *notifier.Syslog) { s.LocalFacility = "LOCAL8" }},
		{"syslog.localFacility", func(s *notifier.Syslog) { s.LocalFacility = "AUTH" }},
		{"syslog.localFacility", func(s *notifier.Syslog) { s.LocalFacility = "LOCAL01" }},
		{"syslog.messageFormat", func(s *notifier.Syslog) { s.MessageFormat = "JSON" }},
		{"syslog.maxMessageSize", func(s *notifier.Syslog) { s.MaxMessageSize = 100 }},
		{"syslog.maxMessageSize", func(s *notifier.Syslog) { s.MaxMessageSize = 2 << 20 }},
		{"syslog.maxMessageSize", func(s *notifier.Syslog) {
			s.TCPConfig, s.UDPConfig, s.MaxMessageSize = nil, &notifier.SyslogUDP{Hostname: "x", Port: 514}, 70000
		}},
		{"syslog.udpConfig.port", func(s *notifier.Syslog) { s.TCPConfig, s.UDPConfig = nil, &notifier.SyslogUDP{Hostname: "x"} }},
		{"syslog.extraFields[1].key", func(s *notifier.Syslog) {
			s.MessageFormat, s.ExtraFields = "CEF", []notifier.KeyValue{{Key: "ok", Value: "1"}, {Key: "bad key", Value: "2"}}
		}},
		{"syslog.extraFields[0].key", func(s *notifier.Syslog) {
			s.MessageFormat, s.ExtraFields = "CEF", []notifier.KeyValue{{Key: "with_underscore", Value: "1"}}
		}},
		{"syslog.extraFields[0].key", func(s *notifier.Syslog) { s.ExtraFields = []notifier.KeyValue{{Key: "", Value: "1"}} }},
		{"syslog.extraFields[0].key", func(s *notifier.Syslog) {
			s.MessageFormat, s.ExtraFields = "CEF", []notifier.KeyValue{{Key: "msg", Value: "1"}}
		}},
		{"syslog.extraFields[0].key", func(s *notifier.Syslog) { s.ExtraFields = []notifier.KeyValue{{Key: "policy", Value: "1"}} }},
	} {
		cfg := good()
		c.edit(cfg.Syslog)
		_, err := New(cfg)
		if !errors.Is(err, notifier.ErrInvalid) || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	if _, err := New(notifier.Config{Type: notifier.TypeSyslog}); !errors.Is(err, notifier.ErrInvalid) {
		t.Errorf("no syslog block: %v", err)
	}
	cfg := good()
	cfg.Syslog.LocalFacility, cfg.Syslog.MessageFormat = "local0", "cef"
	cfg.Syslog.ExtraFields = []notifier.KeyValue{{Key: "cs7", Value: "x"}}
	if n, err := New(cfg); err != nil || n.facility != 16 || n.format != FormatCEF {
		t.Errorf("LOCAL0/CEF: %v", err)
	}
}

func TestEscaping(t *testing.T) {
	for in, want := range map[string]string{
		`a|b\c`:      `a\|b\\c`,
		"line\nnext": "line next",
		"x=y":        "x=y",
	} {
		if got := cefHeader(in); got != want {
			t.Errorf("cefHeader(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`a=b\c`:         `a\=b\\c`,
		"one\ntwo\r\n|": `one\ntwo\r\n|`,
		"tab\tbell\a":   "tab bell ",
	} {
		if got := cefValue(in); got != want {
			t.Errorf("cefValue(%q) = %q, want %q", in, got, want)
		}
	}
	if got := legacyValue("say \"hi\"\n\\"); got != `"say \"hi\"\n\\"` {
		t.Errorf("legacyValue = %s", got)
	}
	// A hard cut never leaves half an escape.
	n := newNotifier(t, &notifier.Syslog{MessageFormat: "CEF", MaxMessageSize: 480, UDPConfig: &notifier.SyslogUDP{Hostname: "x", Port: 514},
		ExtraFields: []notifier.KeyValue{{Key: "big", Value: strings.Repeat(`\`, 1000)}}})
	msg := string(n.encode(&record{msgID: "alert", time: testTime, fields: []field{{cef: "big", value: strings.Repeat(`\`, 1000)}}, cut: -1}))
	if len(msg) > 480 || (len(msg)-len(strings.TrimRight(msg, `\`)))%2 != 0 {
		t.Errorf("cut message is %d bytes and ends in %d backslashes", len(msg), len(msg)-len(strings.TrimRight(msg, `\`)))
	}
}

// A syslog receiver that drops the connection between messages must not
// cost a message: the next Send notices and re-dials.
func TestReconnectsAfterPeerCloses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64<<10)
			k, _ := c.Read(buf)
			got <- string(buf[:k])
			_ = c.Close() // one message per connection, then hang up
		}
	}()
	n := newNotifier(t, &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}})
	for i := range 3 {
		if err := n.Send(context.Background(), &notifier.Message{ID: fmt.Sprint(i), Kind: notifier.KindTest, Time: testTime}); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if !strings.Contains(s, fmt.Sprintf(`deliveryId="%d"`, i)) {
				t.Errorf("message %d: %q", i, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
		time.Sleep(50 * time.Millisecond) // let the FIN arrive
	}
}
