package notifier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDoClassifiesAndScrubs(t *testing.T) {
	const secretPath = "/services/T0001/B0002/s3cr3tT0ken"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "ok":
			_, _ = w.Write([]byte("fine"))
		case "bad":
			http.Error(w, "invalid_payload at "+r.URL.Path+"\n\nsee docs", http.StatusBadRequest)
		case "slow":
			w.Header().Set("Retry-After", "7")
			http.Error(w, "rate limited", http.StatusTooManyRequests)
		case "auth":
			http.Error(w, "invalid_token", http.StatusUnauthorized)
		case "redirect":
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		default:
			http.Error(w, strings.Repeat("x", 4000), http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	c := HTTPClient(nil)
	do := func(kase string) ([]byte, error) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+secretPath+"?case="+kase, nil)
		if err != nil {
			t.Fatal(err)
		}
		return Do(context.Background(), c, req, 1<<20)
	}
	if body, err := do("ok"); err != nil || string(body) != "fine" {
		t.Fatalf("ok: %q %v", body, err)
	}
	for _, tc := range []struct {
		kase      string
		permanent bool
		retry     time.Duration
		says      string
	}{
		{"bad", true, 0, "400 Bad Request: invalid_payload at … see docs"},
		{"slow", false, 7 * time.Second, "rate limited"},
		{"auth", false, 0, "401"},
		{"redirect", true, 0, "302"},
		{"boom", false, 0, "500"},
	} {
		_, err := do(tc.kase)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v is not an *Error", tc.kase, err)
		}
		if Permanent(err) != tc.permanent || RetryAfter(err) != tc.retry || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %q permanent=%v retryAfter=%v", tc.kase, err, Permanent(err), RetryAfter(err))
		}
		if strings.Contains(err.Error(), "s3cr3tT0ken") || len(err.Error()) > 700 {
			t.Errorf("%s: error leaks the path or is unbounded: %q", tc.kase, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1"+secretPath, nil)
	_, err := Do(context.Background(), c, req, 1<<20)
	if err == nil || Permanent(err) || strings.Contains(err.Error(), "s3cr3tT0ken") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestSecretsAndLinks(t *testing.T) {
	c := Config{Type: TypeGeneric, Generic: &Generic{Password: "p", Headers: []KeyValue{{Key: "Authorization", Value: "Bearer x"}}},
		Jira: &Jira{Password: "j"}}
	var paths []string
	for _, f := range Secrets(&c) {
		paths = append(paths, f.Path+"="+*f.Value)
	}
	if got := strings.Join(paths, ","); got != "generic.password=p,generic.headers[Authorization]=Bearer x,jira.password=j" {
		t.Fatalf("Secrets = %s", got)
	}
	slack := Config{Type: TypeSlack, LabelDefault: "https://hooks"}
	if s := Secrets(&slack); len(s) != 1 || s[0].Path != "labelDefault" {
		t.Fatalf("slack secrets = %+v", s)
	}
	if got := AlertLink("stockade.example/", "a b"); got != "https://stockade.example/main/violations/a%20b" {
		t.Fatalf("AlertLink = %s", got)
	}
	if AlertLink("", "x") != "" {
		t.Fatal("link without a UI endpoint")
	}
	a := &Alert{Deployment: &Deployment{Annotations: map[string]string{"k": " dep "}, NamespaceAnnotations: map[string]string{"k": "ns", "n": "only-ns"}}}
	if Annotation(a, "k") != "dep" || Annotation(a, "n") != "only-ns" || Annotation(a, "") != "" || Annotation(&Alert{}, "k") != "" {
		t.Fatal("Annotation precedence")
	}
	if _, err := TLSConfig("not pem", false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad CA: %v", err)
	}
}

func TestDoKeepsTheRefusalBody(t *testing.T) {
	const secretPath = "/v2/hooks/s3cr3tT0ken"
	reason := `{"status":"invalid event","errors":["` + strings.Repeat("payload.summary is missing; ", 40) + `seen at ` + secretPath + `"]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("case") {
		case "huge":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(strings.Repeat("y", 3*MaxAnswer)))
		case "empty":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(reason))
		}
	}))
	defer srv.Close()
	do := func(kase string) *Error {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+secretPath+"?case="+kase, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Do(context.Background(), HTTPClient(nil), req, 1<<20)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v is not an *Error", kase, err)
		}
		return e
	}
	e := do("json")
	want := strings.ReplaceAll(reason, secretPath, "…")
	if string(e.Body) != want {
		t.Errorf("Body = %q, want the whole answer with the path scrubbed: %q", e.Body, want)
	}
	if len(e.Message) > 700 || strings.Contains(e.Message, "s3cr3t") {
		t.Errorf("Message unbounded or leaking: %q", e.Message)
	}
	if e.RetryAfter != 3*time.Second || e.Status != http.StatusTooManyRequests {
		t.Errorf("status %d, retry after %v", e.Status, e.RetryAfter)
	}
	if e := do("huge"); len(e.Body) != MaxAnswer {
		t.Errorf("Body of a huge refusal holds %d bytes, want MaxAnswer (%d)", len(e.Body), MaxAnswer)
	}
	if e := do("empty"); e.Body != nil {
		t.Errorf("Body of an empty refusal = %q, want nil", e.Body)
	}
}

func TestErrorWithMessageAndScrub(t *testing.T) {
	orig := &Error{Status: http.StatusBadRequest, Message: "host answered 400: token t0k3n refused", Body: []byte(`{"reason":"token t0k3n refused"}`), permanent: true, RetryAfter: time.Second}
	orig.Scrub("", "t0k3n")
	if orig.Message != "host answered 400: token … refused" || string(orig.Body) != `{"reason":"token … refused"}` {
		t.Fatalf("Scrub left %q / %q", orig.Message, orig.Body)
	}
	e := orig.WithMessage("jira: host refused the issue: bad field")
	if e.Error() != "jira: host refused the issue: bad field" || orig.Message != "host answered 400: token … refused" {
		t.Fatalf("WithMessage: copy says %q, original %q", e, orig.Message)
	}
	if !Permanent(e) || RetryAfter(e) != time.Second || e.Status != http.StatusBadRequest || string(e.Body) != string(orig.Body) {
		t.Fatalf("WithMessage lost the classification: %+v", e)
	}
	wrapped := fmt.Errorf("send: %w", (&Error{Status: 429, RetryAfter: 7 * time.Second}).WithMessage("slow down"))
	if Permanent(wrapped) || RetryAfter(wrapped) != 7*time.Second {
		t.Fatalf("wrapped copy: permanent=%v retry=%v", Permanent(wrapped), RetryAfter(wrapped))
	}
	noBody := &Error{Message: "a pw b"}
	if noBody.Scrub("pw"); noBody.Message != "a … b" || noBody.Body != nil {
		t.Fatalf("Scrub without a body: %+v", noBody)
	}
	if got := Scrub("user:pw pw", "pw", "", "user"); got != "…:… …" {
		t.Fatalf("Scrub = %q", got)
	}
}

func TestShortenPlainLineAndBullets(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 6, "é…"}, // "é" is 2 bytes, "…" 3: no half rune
		{"abcdef", 2, "…"},
	} {
		if got := Shorten(tc.s, tc.n); got != tc.want || len(got) > max(tc.n, len("…")) {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := PlainLine("  Invalid\n\ttoken \xff "); got != "Invalid token ?" {
		t.Errorf("PlainLine = %q", got)
	}
	if got := PlainLine(strings.Repeat("é", 1000)); len(got) > 512 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("PlainLine of a long text: %d bytes, %q…", len(got), got[:20])
	}

	called := 0
	item := func(i int) string { called++; return fmt.Sprintf("v%d", i) }
	if got := Bullets(0, 10, "• ", item); got != "-" {
		t.Errorf("no items: %q", got)
	}
	if got := Bullets(3, 10, "• ", item); got != "• v0\n• v1\n• v2" {
		t.Errorf("three items: %q", got)
	}
	called = 0
	got := Bullets(13, 10, "- ", item)
	if lines := strings.Split(got, "\n"); len(lines) != 11 || lines[9] != "- v9" || lines[10] != "… and 3 more" {
		t.Errorf("thirteen items cut at ten: %q", got)
	}
	if called != 10 {
		t.Errorf("item called %d times, want only for the 10 listed", called)
	}
}

func TestTakes(t *testing.T) {
	all := []Event{EventNew, EventResolved, EventReopened}
	for _, tc := range []struct {
		kind   Kind
		event  Event
		events []Event
		want   bool
	}{
		{KindTest, "", nil, true},
		{KindSummary, "", nil, true},
		{KindAlert, EventNew, []Event{EventNew}, true},
		{KindAlert, EventResolved, []Event{EventNew}, false},
		{KindAlert, EventReopened, all, true},
		{KindAlert, "", all, false},
		{KindAudit, "", all, false},
		{"other", EventNew, all, false},
	} {
		if got := Takes(tc.kind, tc.event, tc.events...); got != tc.want {
			t.Errorf("Takes(%s, %q, %v) = %v, want %v", tc.kind, tc.event, tc.events, got, tc.want)
		}
	}
}

func TestOriginEntityAndSeverities(t *testing.T) {
	for ui, want := range map[string]string{
		"":                               "stockade-central",
		"  ":                             "stockade-central",
		"https://central.example/ui/":    "central.example",
		"central.example:8443":           "central.example",
		"http://[::1]:8080":              "::1",
		"https://":                       "stockade-central",
		"https://central.example:bad/ui": "stockade-central",
	} {
		if got := Origin(ui); got != want {
			t.Errorf("Origin(%q) = %q, want %q", ui, got, want)
		}
	}
	for _, tc := range []struct {
		a    *Alert
		want string
	}{
		{&Alert{Deployment: &Deployment{Name: "web", Namespace: "shop", ClusterName: "prod", Type: "DaemonSet"}}, "DaemonSet shop/web in cluster prod"},
		{&Alert{Deployment: &Deployment{Name: "web", Namespace: "shop"}}, "deployment shop/web"},
		{&Alert{Image: "registry.example/app:1.0"}, "image registry.example/app:1.0"},
		{&Alert{}, "an unnamed entity"},
	} {
		if got := Entity(tc.a); got != tc.want {
			t.Errorf("Entity = %q, want %q", got, tc.want)
		}
	}
	if got := strings.Join(Severities(), ","); got != "CRITICAL_SEVERITY,HIGH_SEVERITY,MEDIUM_SEVERITY,LOW_SEVERITY" {
		t.Errorf("Severities = %s", got)
	}
	for _, tc := range []struct {
		by   map[string]int
		want string
	}{
		{nil, ""},
		{map[string]int{"CRITICAL_SEVERITY": 0, "UNKNOWN": 4}, ""},
		{map[string]int{"LOW_SEVERITY": 1, "HIGH_SEVERITY": 2}, "HIGH_SEVERITY"},
		{map[string]int{"CRITICAL_SEVERITY": 0, "MEDIUM_SEVERITY": 1}, "MEDIUM_SEVERITY"},
	} {
		if got := WorstSeverity(tc.by); got != tc.want {
			t.Errorf("WorstSeverity(%v) = %q, want %q", tc.by, got, tc.want)
		}
	}
}

func TestCheckToken(t *testing.T) {
	if err := CheckToken("splunk.httpToken", "0a1b-2c3d"); err != nil {
		t.Fatalf("good token: %v", err)
	}
	for token, want := range map[string]string{
		"":               "splunk.httpToken: required",
		"   ":            "splunk.httpToken: required",
		"s3cr3t t0k3n":   "splunk.httpToken: contains spaces or control characters",
		"s3cr3t\x7f":     "splunk.httpToken: contains spaces or control characters",
		"s3cr3t\nHost: ": "splunk.httpToken: contains spaces or control characters",
	} {
		err := CheckToken("splunk.httpToken", token)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(fmt.Sprint(err), want) || strings.Contains(fmt.Sprint(err), "s3cr3t") {
			t.Errorf("CheckToken(%q) = %v, want %q without the value", token, err, want)
		}
	}
}

func TestWebhookFor(t *testing.T) {
	fallback, _ := url.Parse("https://hooks.example/services/default")
	const key = "stockade.io/webhook"
	alert := func(dep, ns string) *Alert {
		return &Alert{Deployment: &Deployment{Name: "web", Namespace: "shop",
			Annotations: map[string]string{key: dep}, NamespaceAnnotations: map[string]string{key: ns}}}
	}
	for _, tc := range []struct {
		name     string
		a        *Alert
		labelKey string
		want     string
	}{
		{"no label key", alert("https://hooks.example/dep", ""), "", fallback.String()},
		{"no annotation", alert("", ""), key, fallback.String()},
		{"no deployment", &Alert{Image: "x"}, key, fallback.String()},
		{"deployment's", alert("https://hooks.example/dep", "https://hooks.example/ns"), key, "https://hooks.example/dep"},
		{"namespace's", alert("", " https://hooks.example/ns "), key, "https://hooks.example/ns"},
	} {
		u, err := WebhookFor("slack", tc.a, tc.labelKey, fallback)
		if err != nil || u.String() != tc.want {
			t.Errorf("%s: %v, %v; want %s", tc.name, u, err, tc.want)
		}
	}
	for _, tc := range []struct{ value, want string }{
		{"http://hooks.example/s3cr3t", `slack: annotation stockade.io/webhook on deployment shop/web: want an https:// webhook URL, got scheme "http"`},
		{"hooks.example/s3cr3t", "slack: annotation stockade.io/webhook on deployment shop/web is not a webhook URL"},
		{"https://%zz/s3cr3t", "slack: annotation stockade.io/webhook on deployment shop/web is not a webhook URL"},
	} {
		_, err := WebhookFor("slack", alert(tc.value, ""), key, fallback)
		if err == nil || err.Error() != tc.want || !Permanent(err) {
			t.Errorf("annotation %q: %v, want the permanent %q", tc.value, err, tc.want)
		}
	}
}
