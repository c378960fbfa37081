package notifier

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
