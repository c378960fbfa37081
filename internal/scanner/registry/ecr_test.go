package registry

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/registrytest"
)

// fakeAWS answers ECR GetAuthorizationToken and STS AssumeRole the way AWS
// does, checking each request's SigV4 signature against the secret of the
// access key it names. AWS cannot be reached from tests; this stands in for
// it, and the registry the token opens is real.
type fakeAWS struct {
	t        *testing.T
	keys     map[string]string // access key id → secret
	sessions map[string]string // access key id → required session token
	roleARN  string
	password string // what the registry token decodes to, after "AWS:"
	ttl      time.Duration

	mu    sync.Mutex
	calls map[string]int // by action
}

var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$`)

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		f.fail(w, r, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	keyID, region, service, signedHeaders, sig := m[1], m[3], m[4], m[5], m[6]
	secret, ok := f.keys[keyID]
	if !ok {
		f.fail(w, r, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	if want := f.sessions[keyID]; want != "" && r.Header.Get("X-Amz-Security-Token") != want {
		f.fail(w, r, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	when, err := time.Parse(amzDateLayout, r.Header.Get("X-Amz-Date"))
	if err != nil {
		f.fail(w, r, http.StatusBadRequest, "IncompleteSignatureException", "bad X-Amz-Date")
		return
	}
	creq, signed := canonicalRequest(r, hashHex(body))
	expected := hex.EncodeToString(hmacSHA256(signingKey(secret, when, region, service),
		stringToSign(when, credentialScope(when, region, service), creq)))
	if signed != signedHeaders || expected != sig || region != "eu-west-1" {
		f.fail(w, r, http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case service == "sts":
		form, _ := url.ParseQuery(string(body))
		f.calls[form.Get("Action")]++
		if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != f.roleARN {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to assume %s</Message></Error></ErrorResponse>`, form.Get("RoleArn"))
			return
		}
		fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>`+
			`<AccessKeyId>ASIATEMPORARY</AccessKeyId><SecretAccessKey>temporary-secret</SecretAccessKey>`+
			`<SessionToken>temporary-session</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>`+
			`</Credentials></AssumeRoleResult></AssumeRoleResponse>`)
	case service == "ecr" && r.Header.Get("X-Amz-Target") == ecrTarget && r.Header.Get("Content-Type") == "application/x-amz-json-1.1":
		f.calls["GetAuthorizationToken"]++
		token := base64.StdEncoding.EncodeToString([]byte("AWS:" + f.password))
		_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": token,
			"expiresAt":          float64(time.Now().Add(f.ttl).Unix()),
			"proxyEndpoint":      "https://" + r.Host,
		}}})
	default:
		f.fail(w, r, http.StatusBadRequest, "UnknownOperationException", "unknown operation")
	}
}

func (f *fakeAWS) fail(w http.ResponseWriter, r *http.Request, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws#" + typ, "message": msg})
}

func (f *fakeAWS) count(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

func TestECRIntegration(t *testing.T) {
	ecrPassword := "ecr-registry-token"
	reg := registrytest.Start(t, registrytest.WithHtpasswd(), registrytest.WithUser("AWS", ecrPassword))
	reg.Push(t, "team/app:1", registrytest.ImageFromFiles(t, map[string][]byte{"f": []byte("ecr")}))
	aws := &fakeAWS{
		t:        t,
		keys:     map[string]string{"AKIATESTKEY": "test-secret", "ASIATEMPORARY": "temporary-secret"},
		sessions: map[string]string{"ASIATEMPORARY": "temporary-session"},
		roleARN:  "arn:aws:iam::123456789012:role/scanner",
		password: ecrPassword,
		ttl:      12 * time.Hour,
		calls:    map[string]int{},
	}
	hs := httptest.NewServer(aws)
	t.Cleanup(hs.Close)

	in := Integration{
		Name: "ecr", Type: TypeECR, Endpoint: reg.Host, Insecure: true,
		ECR: &ECRConfig{Region: "eu-west-1", AccessKeyID: "AKIATESTKEY", SecretAccessKey: "test-secret",
			APIEndpoint: hs.URL, STSEndpoint: hs.URL},
	}
	r, err := NewResolver([]Integration{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		img, err := Fetch(t.Context(), reg.Ref("team/app:1"), Options{Resolver: r})
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if img.Source != `integration "ecr"` {
			t.Errorf("source %q", img.Source)
		}
	}
	if n := aws.count("GetAuthorizationToken"); n != 1 {
		t.Errorf("GetAuthorizationToken called %d times for two fetches; the token should be reused", n)
	}
	if err := Test(t.Context(), in, Options{}); err != nil {
		t.Errorf("Test: %v", err)
	}

	// With a role: AssumeRole first, then the token with the temporary key.
	withRole := in
	ecr := *in.ECR
	ecr.RoleARN = aws.roleARN
	withRole.ECR = &ecr
	if err := Test(t.Context(), withRole, Options{}); err != nil {
		t.Errorf("Test with role: %v", err)
	}
	if aws.count("AssumeRole") != 1 {
		t.Errorf("AssumeRole called %d times", aws.count("AssumeRole"))
	}
	ecr.RoleARN = "arn:aws:iam::123456789012:role/other"
	err = Test(t.Context(), withRole, Options{})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "log in to ECR registry "+reg.Host+": AWS sts rejected the request") ||
		!strings.Contains(err.Error(), "AccessDenied: not authorized to assume arn:aws:iam::123456789012:role/other") {
		t.Errorf("role not assumable: %v", err)
	}

	// A wrong secret: AWS says so, and the message says which key.
	bad := in
	badECR := *in.ECR
	badECR.SecretAccessKey = "wrong-secret"
	bad.ECR = &badECR
	err = Test(t.Context(), bad, Options{})
	if !errors.Is(err, ErrUnauthorized) ||
		!strings.Contains(err.Error(), "AWS ecr rejected the credentials (access key AKIATESTKEY): InvalidSignatureException") {
		t.Errorf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error quotes the secret: %v", err)
	}
	badECR.AccessKeyID = "AKIAUNKNOWN"
	_, err = Fetch(t.Context(), reg.Ref("team/app:1"), Options{Resolver: mustResolver(t, bad)})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Errorf("unknown key: %v", err)
	}

	// AWS unreachable.
	down := in
	downECR := *in.ECR
	downECR.APIEndpoint = "http://127.0.0.1:1"
	down.ECR = &downECR
	if err := Test(t.Context(), down, Options{}); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "log in to ECR registry") {
		t.Errorf("AWS down: %v", err)
	}
}

func mustResolver(t *testing.T, ins ...Integration) *Resolver {
	t.Helper()
	r, err := NewResolver(ins, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestECRTokenExpiry(t *testing.T) {
	aws := &fakeAWS{t: t, keys: map[string]string{"AKIATESTKEY": "s"}, password: "p", ttl: 12 * time.Hour, calls: map[string]int{}}
	hs := httptest.NewServer(aws)
	t.Cleanup(hs.Close)
	a := newECRAuth(ECRConfig{Region: "eu-west-1", AccessKeyID: "AKIATESTKEY", SecretAccessKey: "s", APIEndpoint: hs.URL},
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com", &http.Client{})
	if _, err := a.Authorization(); err == nil {
		t.Error("Authorization without a fetched token succeeded")
	}
	cfg, err := a.AuthorizationContext(t.Context())
	if err != nil || cfg.Username != "AWS" || cfg.Password != "p" {
		t.Fatalf("token %+v %v", cfg, err)
	}
	if cfg, err := a.Authorization(); err != nil || cfg.Password != "p" {
		t.Errorf("cached token: %+v %v", cfg, err)
	}
	now := time.Now()
	a.now = func() time.Time { return now.Add(11*time.Hour + 56*time.Minute) } // within 5 minutes of expiry
	if _, err := a.AuthorizationContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := aws.count("GetAuthorizationToken"); n != 2 {
		t.Errorf("token near expiry not refreshed: %d calls", n)
	}
}
