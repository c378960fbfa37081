package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

const (
	testUser = "alerts@example.com"
	testPass = "s3cret-Pa55w0rd"
)

var testTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// config is an email notifier pointed at p, logging in when p offers AUTH.
func config(p *smtpPeer) notifier.Config {
	c := notifier.Config{
		ID: "n1", Name: "mail", Type: notifier.TypeEmail,
		UIEndpoint:   "https://stockade.example",
		LabelDefault: "Security Team <security@example.com>",
		Email: &notifier.Email{
			Server: p.server(),
			Sender: "stockade@example.com",
			From:   "Stockade Alerts",
			CACert: p.caPEM,
		},
	}
	if len(p.opts.mechs) > 0 {
		c.Email.Username, c.Email.Password = testUser, testPass
		c.Email.StartTLSAuthMethod = p.opts.mechs[0]
	} else {
		c.Email.AllowUnauthenticatedSMTP = true
	}
	if p.opts.mode == "plain" {
		c.Email.DisableTLS = true
		c.Email.StartTLSAuthMethod = AuthDisabled
	}
	return c
}

func newNotifier(t *testing.T, c notifier.Config) *Notifier {
	t.Helper()
	n, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n.greetWait = 300 * time.Millisecond
	return n
}

func alert() *notifier.Alert {
	return &notifier.Alert{
		ID: "a-1", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p-1", Name: "Privileged Container", Severity: "HIGH_SEVERITY",
			Description: "Alert on privileged containers.",
			Rationale:   "Privileged containers can <escape> to the host & more.",
			Remediation: "Set securityContext.privileged to false.",
		},
		Deployment: &notifier.Deployment{
			ID: "d-1", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment",
			Containers: []notifier.Container{{Name: "app", Image: "registry.example/web:2.1"}},
		},
		Violations: []notifier.Violation{
			{Message: "Container 'app' is privileged"},
			{Message: `<script>alert("x")</script> in env`},
		},
		Enforcement:   "SCALE_TO_ZERO_ENFORCEMENT",
		FirstOccurred: testTime, Time: testTime,
		Link: "https://stockade.example/main/violations/a-1",
	}
}

// parsed is a received message taken apart as a mail client would.
type parsed struct {
	header     mail.Header
	subject    string
	text, html string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	for i, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets, over SMTP's 998", i+1, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	var p parsed
	p.header = m.Header
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if mt == "text/plain" {
		b, err := io.ReadAll(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		p.text = strings.ReplaceAll(decodeQP(t, b), "\r\n", "\n")
		return p
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		ct, cp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if cp["charset"] != "utf-8" {
			t.Errorf("%s charset %q, want utf-8", ct, cp["charset"])
		}
		b, err := io.ReadAll(part) // the multipart reader decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ct)
		switch ct {
		case "text/plain":
			p.text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			p.html = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
	if !slices.Equal(types, []string{"text/plain", "text/html"}) {
		t.Errorf("parts %v, want text/plain then text/html", types)
	}
	return p
}

func decodeQP(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	// Reuse the multipart reader's quoted-printable decoding.
	w, _ := mw.CreatePart(map[string][]string{"Content-Transfer-Encoding": {"quoted-printable"}})
	_, _ = w.Write(b)
	_ = mw.Close()
	part, err := multipart.NewReader(&buf, mw.Boundary()).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(part)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func containsAll(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func onlyMail(t *testing.T, p *smtpPeer) gotMail {
	t.Helper()
	mails, _ := p.received()
	if len(mails) != 1 {
		t.Fatalf("server received %d messages, want 1", len(mails))
	}
	return mails[0]
}

func TestAlertOverSTARTTLSWithPlainAuth(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls", mechs: []string{AuthPlain}, user: testUser, pass: testPass})
	n := newNotifier(t, config(p))
	msg := &notifier.Message{ID: "delivery-42", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: alert()}
	if err := n.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := onlyMail(t, p)
	if got.from != "stockade@example.com" || !slices.Equal(got.to, []string{"security@example.com"}) {
		t.Errorf("envelope from %q to %v", got.from, got.to)
	}
	if !got.tls || got.user != testUser {
		t.Errorf("message sent with tls=%v user=%q, want TLS and %q", got.tls, got.user, testUser)
	}
	_, logins := p.received()
	if len(logins) != 1 || logins[0] != (gotLogin{mech: "PLAIN", user: testUser, tls: true, ok: true}) {
		t.Errorf("logins %+v, want one good PLAIN login over TLS", logins)
	}

	m := parse(t, got.data)
	want := "[Stockade] High policy violation: Privileged Container in prod/shop/web"
	if m.subject != want {
		t.Errorf("Subject %q, want %q", m.subject, want)
	}
	from, err := m.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Stockade Alerts" || from[0].Address != "stockade@example.com" {
		t.Errorf("From %v (%v)", from, err)
	}
	to, err := m.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Security Team" || to[0].Address != "security@example.com" {
		t.Errorf("To %v (%v)", to, err)
	}
	if d, err := m.header.Date(); err != nil || !d.Equal(testTime) {
		t.Errorf("Date %v (%v), want %v", d, err, testTime)
	}
	if id := m.header.Get("Message-ID"); id != "<delivery-42@stockade>" {
		t.Errorf("Message-ID %q", id)
	}
	if v := m.header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version %q", v)
	}
	containsAll(t, "text part", m.text,
		"Policy: Privileged Container", "Severity: High", "Cluster: prod", "Namespace: shop",
		"Deployment: web (Deployment)", "registry.example/web:2.1", "Enforcement: SCALE_TO_ZERO_ENFORCEMENT",
		"Container 'app' is privileged", `<script>alert("x")</script> in env`,
		"Privileged containers can <escape> to the host & more.",
		"Set securityContext.privileged to false.",
		"View the alert: https://stockade.example/main/violations/a-1")
	containsAll(t, "html part", m.html,
		"Privileged Container", "High", "prod", "shop", "web (Deployment)",
		"Container &#39;app&#39; is privileged",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; in env",
		"Privileged containers can &lt;escape&gt; to the host &amp; more.",
		"Set securityContext.privileged to false.",
		`<a href="https://stockade.example/main/violations/a-1">`)
	if strings.Contains(m.html, "<script>") || strings.Contains(m.html, "<escape>") {
		t.Errorf("html part carries unescaped alert text:\n%s", m.html)
	}
	if strings.Contains(string(got.data), testPass) {
		t.Error("the message holds the password")
	}
}

func TestTestMessageOverImplicitTLSWithLoginAuth(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "implicit", mechs: []string{AuthLogin}, user: testUser, pass: testPass})
	n := newNotifier(t, config(p))
	if n.mode != tlsDetect {
		t.Fatalf("a port that is not 465, 25, 587 or 2525 should be detected, mode %v", n.mode)
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "t-1", Kind: notifier.KindTest, Time: testTime}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := onlyMail(t, p)
	if !got.tls {
		t.Error("message not sent over TLS")
	}
	_, logins := p.received()
	if len(logins) != 1 || logins[0] != (gotLogin{mech: "LOGIN", user: testUser, tls: true, ok: true}) {
		t.Errorf("logins %+v, want one good LOGIN over TLS", logins)
	}
	m := parse(t, got.data)
	if want := "[Stockade] Test message: Low policy violation: Stockade test message in test/stockade-test/example"; m.subject != want {
		t.Errorf("Subject %q, want %q", m.subject, want)
	}
	containsAll(t, "text part", m.text, "This is a test message from Stockade", "Policy: Stockade test message")
	containsAll(t, "html part", m.html, "This is a test message from Stockade")
	if id := m.header.Get("Message-ID"); id != "<t-1@stockade>" {
		t.Errorf("Message-ID %q", id)
	}
}

func TestSummaryInPlainTextWithoutAuth(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "plain"})
	n := newNotifier(t, config(p))
	s := &notifier.Summary{
		Count: 1234, From: testTime, To: testTime.Add(5 * time.Minute),
		BySeverity:  map[string]int{"CRITICAL_SEVERITY": 4, "LOW_SEVERITY": 1000, "HIGH_SEVERITY": 230},
		TopPolicies: []notifier.PolicyCount{{Name: "Latest tag", Count: 900}, {Name: "Root user <uid 0>", Count: 300}},
	}
	if err := n.Send(context.Background(), &notifier.Message{ID: "s-1", Kind: notifier.KindSummary, Time: testTime, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := onlyMail(t, p)
	if got.tls || got.user != "" {
		t.Errorf("tls=%v user=%q, want plain text and no login", got.tls, got.user)
	}
	m := parse(t, got.data)
	if want := "[Stockade] Alert storm: 1234 more alerts folded"; m.subject != want {
		t.Errorf("Subject %q, want %q", m.subject, want)
	}
	containsAll(t, "text part", m.text,
		"1234 more alerts were folded during an alert storm between 2026-03-04T05:06:07Z and 2026-03-04T05:11:07Z",
		"Critical: 4\n  High: 230\n  Low: 1000", "Latest tag: 900", "Root user <uid 0>: 300",
		"View the violations: https://stockade.example/main/violations")
	containsAll(t, "html part", m.html, "Root user &lt;uid 0&gt;", "<td align=\"right\">900</td>")
}

func TestAnnotationOverridesRecipient(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls"})
	c := config(p)
	c.LabelKey = "mail.stockade.io/to"
	n := newNotifier(t, c)

	a := alert()
	a.Deployment.NamespaceAnnotations = map[string]string{"mail.stockade.io/to": "shop-team@example.com"}
	send := func(a *notifier.Alert) error {
		return n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: a})
	}
	if err := send(a); err != nil {
		t.Fatal(err)
	}
	a.Deployment.Annotations = map[string]string{"mail.stockade.io/to": "dev@example.com, Ops <ops@example.com>"}
	if err := send(a); err != nil {
		t.Fatal(err)
	}
	mails, _ := p.received()
	if len(mails) != 2 {
		t.Fatalf("%d messages, want 2", len(mails))
	}
	if !slices.Equal(mails[0].to, []string{"shop-team@example.com"}) {
		t.Errorf("namespace annotation: RCPT %v", mails[0].to)
	}
	if !slices.Equal(mails[1].to, []string{"dev@example.com", "ops@example.com"}) {
		t.Errorf("deployment annotation: RCPT %v", mails[1].to)
	}
	to, err := parse(t, mails[1].data).header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Ops" {
		t.Errorf("To %v (%v)", to, err)
	}

	a.Deployment.Annotations["mail.stockade.io/to"] = "not an address"
	err = send(a)
	if err == nil || !notifier.Permanent(err) || !strings.Contains(err.Error(), "mail.stockade.io/to") {
		t.Errorf("bad annotation: %v (permanent %v), want a permanent error naming the annotation", err, notifier.Permanent(err))
	}
}

func TestHeaderInjectionIsImpossible(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls"})
	c := config(p)
	c.Email.From = "Stockade\r\nBcc: from-victim@example.net"
	n := newNotifier(t, c)
	a := alert()
	a.Policy.Name = "Evil\r\nBcc: victim@example.net\r\n\r\nbody"
	a.Deployment.Name = "web\nX-Injected: yes"
	if err := n.Send(context.Background(), &notifier.Message{ID: "i\r\nBcc: x@example.net", Kind: notifier.KindAlert, Event: notifier.EventNew, Time: testTime, Alert: a}); err != nil {
		t.Fatal(err)
	}
	got := onlyMail(t, p)
	if !slices.Equal(got.to, []string{"security@example.com"}) {
		t.Errorf("RCPT %v, want only the configured recipient", got.to)
	}
	m := parse(t, got.data)
	for _, h := range []string{"Bcc", "X-Injected"} {
		if v, ok := m.header[h]; ok {
			t.Errorf("injected header %s: %v", h, v)
		}
	}
	if want := "[Stockade] High policy violation: Evil Bcc: victim@example.net body in prod/shop/web X-Injected: yes"; m.subject != want {
		t.Errorf("Subject %q, want %q", m.subject, want)
	}
	if id := m.header.Get("Message-ID"); id != "<i--Bcc--x-example.net@stockade>" {
		t.Errorf("Message-ID %q", id)
	}
	from, err := m.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Stockade Bcc: from-victim@example.net" {
		t.Errorf("From %v (%v)", from, err)
	}
}

func TestSendMailForReports(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls", mechs: []string{AuthPlain}, user: testUser, pass: testPass})
	n := newNotifier(t, config(p))
	subject := "Rapport hebdomadaire de sécurité — " + strings.Repeat("conformité ", 30)
	text := "Résumé\n" + strings.Repeat("x", 2000) + "\nfin\n"
	if err := n.SendMail(context.Background(), []string{"a@example.com", "B <b@example.com>"}, subject, text, ""); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	if err := n.SendMail(context.Background(), []string{"c@example.com"}, "With HTML", "plain", "<p>rich</p>"); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	mails, _ := p.received()
	if len(mails) != 2 {
		t.Fatalf("%d messages, want 2", len(mails))
	}
	if !slices.Equal(mails[0].to, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("RCPT %v", mails[0].to)
	}
	m := parse(t, mails[0].data)
	if want := truncateRunes(strings.TrimSpace(subject), maxSubject); m.subject != want {
		t.Errorf("Subject\n%q, want\n%q", m.subject, want)
	}
	if m.text != text {
		t.Errorf("text body differs: %q…", m.text[:40])
	}
	if ct := m.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q for a text-only mail", ct)
	}
	id1, id2 := m.header.Get("Message-ID"), parse(t, mails[1].data).header.Get("Message-ID")
	if id1 == id2 || !strings.HasSuffix(id1, "@stockade>") {
		t.Errorf("Message-IDs %q and %q, want two distinct <…@stockade>", id1, id2)
	}
	if h := parse(t, mails[1].data).html; h != "<p>rich</p>" {
		t.Errorf("html part %q", h)
	}
	err := n.SendMail(context.Background(), []string{"x@example.com\r\nRCPT TO:<y@example.com>"}, "s", "t", "")
	if err == nil || !notifier.Permanent(err) {
		t.Errorf("recipient with CRLF: %v, want a permanent error", err)
	}
}

func TestWrongPasswordIsAPlainError(t *testing.T) {
	for _, mech := range []string{AuthPlain, AuthLogin} {
		t.Run(mech, func(t *testing.T) {
			p := startPeer(t, peerOpts{mode: "starttls", mechs: []string{mech}, user: testUser, pass: "the-right-one"})
			n := newNotifier(t, config(p))
			err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest, Time: testTime})
			if err == nil {
				t.Fatal("Send succeeded with a wrong password")
			}
			msg := err.Error()
			containsAll(t, "error", msg, p.server(), "log in as "+testUser, "535", "Authentication failed")
			if strings.Contains(msg, testPass) {
				t.Errorf("error holds the password: %s", msg)
			}
			if notifier.Permanent(err) {
				t.Error("a refused login should be retryable once the credentials are fixed")
			}
			mails, logins := p.received()
			if len(mails) != 0 || len(logins) != 1 || logins[0].ok || !logins[0].tls {
				t.Errorf("mails %d, logins %+v", len(mails), logins)
			}
		})
	}
}

func TestUnreachableServerIsNamed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n, err := New(notifier.Config{Type: notifier.TypeEmail, LabelDefault: "a@example.com", Email: &notifier.Email{
		Server: addr, Sender: "s@example.com", Username: "u", Password: testPass,
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
	if err == nil || !strings.Contains(err.Error(), "send mail via "+addr) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %v, want one naming %s and the refusal", err, addr)
	}
	if strings.Contains(err.Error(), testPass) {
		t.Error("error holds the password")
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never spoken to
			mu.Unlock()
		}
	}()
	for _, mode := range []string{"detect", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			addr := l.Addr().String()
			n, err := New(notifier.Config{Type: notifier.TypeEmail, LabelDefault: "a@example.com", Email: &notifier.Email{
				Server: addr, Sender: "s@example.com", AllowUnauthenticatedSMTP: true,
			}})
			if err != nil {
				t.Fatal(err)
			}
			n.greetWait, n.timeout = 100*time.Millisecond, 500*time.Millisecond
			if mode == "starttls" {
				n.mode = tlsStart
			}
			start := time.Now()
			err = n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Send took %s, want about the 500ms bound", took)
			}
			if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "gave up after 500ms") {
				t.Errorf("error %v", err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			n.timeout = time.Minute
			start = time.Now()
			if err := n.Send(ctx, &notifier.Message{ID: "x", Kind: notifier.KindTest}); err == nil {
				t.Error("Send succeeded against a silent server")
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Send took %s past its context deadline", took)
			}
		})
	}
}

func TestSTARTTLSIsRequired(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "plain", mechs: []string{AuthPlain}, user: testUser, pass: testPass})
	c := config(p)
	c.Email.DisableTLS = false
	c.Email.StartTLSAuthMethod = AuthPlain
	n := newNotifier(t, c)
	err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest, Time: testTime})
	if err == nil || !notifier.Permanent(err) || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("error %v, want a permanent one saying STARTTLS is missing", err)
	}
	if mails, logins := p.received(); len(mails)+len(logins) != 0 {
		t.Errorf("mails %d logins %+v: nothing should have been sent", len(mails), logins)
	}

	// disableTLS with an ACS STARTTLS auth method still requires STARTTLS.
	c.Email.DisableTLS = true
	n = newNotifier(t, c)
	if err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest}); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("disableTLS + PLAIN against a server without STARTTLS: %v", err)
	}
}

func TestCredentialsNeverGoOutWithoutTLS(t *testing.T) {
	for _, a := range []smtp.Auth{plainAuth{user: "u", pass: testPass}, &loginAuth{user: "u", pass: testPass}} {
		if _, _, err := a.Start(&smtp.ServerInfo{Name: "mail.example.com", TLS: false, Auth: []string{"PLAIN", "LOGIN"}}); !errors.Is(err, errNoTLS) {
			t.Errorf("%T.Start without TLS: %v, want errNoTLS", a, err)
		}
	}
	// Same at New: a login with TLS turned off entirely.
	_, err := New(notifier.Config{Type: notifier.TypeEmail, LabelDefault: "a@example.com", Email: &notifier.Email{
		Server: "mail.example.com:25", Sender: "s@example.com", Username: "u", Password: testPass,
		DisableTLS: true, StartTLSAuthMethod: AuthDisabled,
	}})
	if !errors.Is(err, notifier.ErrInvalid) || !strings.Contains(err.Error(), "email.disableTLS") {
		t.Errorf("New: %v", err)
	}
}

func TestLoginAuthChallenges(t *testing.T) {
	a := &loginAuth{user: "u", pass: "p"}
	if mech, ir, err := a.Start(&smtp.ServerInfo{TLS: true}); mech != "LOGIN" || ir != nil || err != nil {
		t.Fatalf("Start: %q %q %v", mech, ir, err)
	}
	for _, step := range []struct{ challenge, want string }{{"Username:", "u"}, {"Password:", "p"}} {
		got, err := a.Next([]byte(step.challenge), true)
		if err != nil || string(got) != step.want {
			t.Errorf("Next(%q) = %q, %v", step.challenge, got, err)
		}
	}
	if _, err := a.Next([]byte("Password:"), true); err == nil {
		t.Error("a third challenge was answered")
	}
	b := &loginAuth{user: "u", pass: "p"}
	_, _, _ = b.Start(&smtp.ServerInfo{TLS: true})
	if _, err := b.Next([]byte("Who are you?"), true); err == nil {
		t.Error("an unknown challenge was answered")
	}
}

func TestUntrustedCertificate(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls"})
	c := config(p)
	c.Email.CACert = ""
	n := newNotifier(t, c)
	err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), p.server()) {
		t.Fatalf("error %v, want a certificate error naming the server", err)
	}
	c.Email.SkipTLSVerify = true
	n = newNotifier(t, c)
	if err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest}); err != nil {
		t.Fatalf("with skipTLSVerify: %v", err)
	}
	onlyMail(t, p)
}

func TestRefusedRecipientIsPermanent(t *testing.T) {
	p := startPeer(t, peerOpts{mode: "starttls", rejectRcpt: "security@example.com"})
	n := newNotifier(t, config(p))
	err := n.Send(context.Background(), &notifier.Message{ID: "x", Kind: notifier.KindTest})
	if err == nil || !notifier.Permanent(err) {
		t.Fatalf("error %v, want a permanent one", err)
	}
	containsAll(t, "error", err.Error(), p.server(), "RCPT TO security@example.com", "550", "no such mailbox here")
}

func TestWants(t *testing.T) {
	n := newNotifier(t, notifier.Config{Type: notifier.TypeEmail, LabelDefault: "a@example.com", Email: &notifier.Email{
		Server: "mail.example.com:587", Sender: "s@example.com", AllowUnauthenticatedSMTP: true,
	}})
	for _, c := range []struct {
		kind  notifier.Kind
		event notifier.Event
		want  bool
	}{
		{notifier.KindTest, "", true},
		{notifier.KindAlert, notifier.EventNew, true},
		{notifier.KindSummary, "", true},
		{notifier.KindAlert, notifier.EventResolved, false},
		{notifier.KindAlert, notifier.EventReopened, false},
		{notifier.KindAudit, "", false},
	} {
		if got := n.Wants(c.kind, c.event); got != c.want {
			t.Errorf("Wants(%s, %s) = %v, want %v", c.kind, c.event, got, c.want)
		}
	}
	err := n.Send(context.Background(), &notifier.Message{Kind: notifier.KindAudit, Audit: &notifier.Audit{}})
	if !notifier.Permanent(err) {
		t.Errorf("Send(audit) = %v, want a permanent refusal", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() notifier.Config {
		return notifier.Config{Type: notifier.TypeEmail, LabelDefault: "a@example.com", Email: &notifier.Email{
			Server: "mail.example.com:587", Sender: "s@example.com", Username: "u", Password: testPass,
		}}
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func(*notifier.Config)
	}{
		{"email", func(c *notifier.Config) { c.Email = nil }},
		{"email.server", func(c *notifier.Config) { c.Email.Server = "" }},
		{"email.server", func(c *notifier.Config) { c.Email.Server = "mail.example.com" }},
		{"email.server", func(c *notifier.Config) { c.Email.Server = "mail.example.com:smtp" }},
		{"email.server", func(c *notifier.Config) { c.Email.Server = ":587" }},
		{"email.sender", func(c *notifier.Config) { c.Email.Sender = "" }},
		{"email.sender", func(c *notifier.Config) { c.Email.Sender = "not an address" }},
		{"labelDefault", func(c *notifier.Config) { c.LabelDefault = "" }},
		{"labelDefault", func(c *notifier.Config) { c.LabelDefault = "a@example.com, @@" }},
		{"email.recipient", func(c *notifier.Config) { c.Email.Recipient = "nobody" }},
		{"email.startTLSAuthMethod", func(c *notifier.Config) { c.Email.StartTLSAuthMethod = "CRAM-MD5" }},
		{"email.username", func(c *notifier.Config) { c.Email.Username = "" }},
		{"email.password", func(c *notifier.Config) { c.Email.Password = "" }},
		{"email.disableTLS", func(c *notifier.Config) { c.Email.DisableTLS = true }},
		{"email.caCert", func(c *notifier.Config) { c.Email.CACert = "not a PEM" }},
	} {
		cfg := good()
		c.edit(&cfg)
		_, err := New(cfg)
		if !errors.Is(err, notifier.ErrInvalid) || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%s: got %v, want an ErrInvalid naming %s", c.field, err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), testPass) {
			t.Errorf("%s: error quotes the password: %v", c.field, err)
		}
	}

	// email.recipient is the fallback when labelDefault is empty.
	cfg := good()
	cfg.LabelDefault, cfg.Email.Recipient = "", "b@example.com"
	n, err := New(cfg)
	if err != nil || len(n.defaultTo) != 1 || n.defaultTo[0].Address != "b@example.com" {
		t.Errorf("recipient fallback: %v %v", n, err)
	}
	// Port 465 is implicit TLS; a plain-text relay needs no credentials.
	cfg = good()
	cfg.Email.Server = "mail.example.com:465"
	if n, err := New(cfg); err != nil || n.mode != tlsImplicit {
		t.Errorf("port 465: mode %v, %v", n.mode, err)
	}
	cfg = good()
	cfg.Email.DisableTLS, cfg.Email.AllowUnauthenticatedSMTP, cfg.Email.Username, cfg.Email.Password = true, true, "", ""
	if n, err := New(cfg); err != nil || n.mode != tlsNone || n.mech != "" {
		t.Errorf("plain relay: %v", err)
	}
}
