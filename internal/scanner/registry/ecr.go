package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// ecrAuth logs in to Amazon ECR: it trades the integration's access key
// (after assuming RoleARN, when set) for a registry token with ECR's
// GetAuthorizationToken, and caches the token until shortly before it
// expires (tokens last 12 hours).
type ecrAuth struct {
	cfg    ECRConfig
	host   string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	cached  *authn.AuthConfig
	expires time.Time
}

func newECRAuth(cfg ECRConfig, host string, client *http.Client) *ecrAuth {
	if cfg.Region == "" {
		cfg.Region = regionFromECRHost(host)
	}
	return &ecrAuth{cfg: cfg, host: host, client: client, now: time.Now}
}

// ecrHost matches ECR registry hosts: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn].
var ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

func regionFromECRHost(host string) string {
	if m := ecrHost.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

// refreshBefore is how long before its expiry a cached token is replaced.
const refreshBefore = 5 * time.Minute

// maxAWSResponse bounds what is read from an AWS API answer.
const maxAWSResponse = 1 << 20

// Authorization returns the cached token; go-containerregistry calls
// AuthorizationContext, which fetches one when needed.
func (a *ecrAuth) Authorization() (*authn.AuthConfig, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cached != nil && a.now().Before(a.expires) {
		c := *a.cached
		return &c, nil
	}
	return nil, errors.New("ECR token not fetched yet: call AuthorizationContext")
}

// AuthorizationContext returns a valid ECR token as basic auth (user AWS).
func (a *ecrAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cached != nil && a.now().Before(a.expires) {
		c := *a.cached
		return &c, nil
	}
	creds := awsCredentials{
		AccessKeyID:     a.cfg.AccessKeyID,
		SecretAccessKey: a.cfg.SecretAccessKey.Reveal(),
		SessionToken:    a.cfg.SessionToken.Reveal(),
	}
	if a.cfg.RoleARN != "" {
		assumed, err := a.assumeRole(ctx, creds)
		if err != nil {
			return nil, err
		}
		creds = assumed
	}
	user, pass, expires, err := a.getAuthorizationToken(ctx, creds)
	if err != nil {
		return nil, err
	}
	a.cached = &authn.AuthConfig{Username: user, Password: pass}
	a.expires = expires.Add(-refreshBefore)
	c := *a.cached
	return &c, nil
}

func (a *ecrAuth) apiEndpoint() string {
	if a.cfg.APIEndpoint != "" {
		return a.cfg.APIEndpoint
	}
	return "https://api.ecr." + a.cfg.Region + awsDomain(a.cfg.Region)
}

func (a *ecrAuth) stsEndpoint() string {
	if a.cfg.STSEndpoint != "" {
		return a.cfg.STSEndpoint
	}
	return "https://sts." + a.cfg.Region + awsDomain(a.cfg.Region)
}

func awsDomain(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return ".amazonaws.com.cn"
	}
	return ".amazonaws.com"
}

// ecrTarget is the X-Amz-Target of GetAuthorizationToken.
const ecrTarget = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"

func (a *ecrAuth) getAuthorizationToken(ctx context.Context, c awsCredentials) (user, pass string, expires time.Time, err error) {
	req := map[string]any{}
	if a.cfg.RegistryID != "" {
		req["registryIds"] = []string{a.cfg.RegistryID}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("ECR GetAuthorizationToken request: %w", err)
	}
	respBody, err := a.call(ctx, "ecr", a.apiEndpoint(), body, c, map[string]string{
		"Content-Type": "application/x-amz-json-1.1",
		"X-Amz-Target": ecrTarget,
	}, jsonAWSError)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var out struct {
		AuthorizationData []struct {
			AuthorizationToken string  `json:"authorizationToken"`
			ExpiresAt          float64 `json:"expiresAt"`
			ProxyEndpoint      string  `json:"proxyEndpoint"`
		} `json:"authorizationData"`
	}
	if err := json.Unmarshal(respBody, &out); err != nil {
		return "", "", time.Time{}, a.fail(KindOther, "ECR GetAuthorizationToken answered with bad JSON", err)
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", time.Time{}, a.fail(KindOther, "ECR GetAuthorizationToken returned no token", nil)
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(d.AuthorizationToken)
	if err != nil {
		return "", "", time.Time{}, a.fail(KindOther, "ECR authorization token is not base64", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", time.Time{}, a.fail(KindOther, "ECR authorization token is not user:password", nil)
	}
	expires = a.now().Add(time.Hour)
	if d.ExpiresAt > 0 {
		expires = time.Unix(int64(d.ExpiresAt), 0)
	}
	return user, pass, expires, nil
}

// assumeRole trades c for temporary credentials of the integration's role
// with STS AssumeRole.
func (a *ecrAuth) assumeRole(ctx context.Context, c awsCredentials) (awsCredentials, error) {
	form := url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {a.cfg.RoleARN},
		"RoleSessionName": {"stockade-scanner"},
		"DurationSeconds": {"3600"},
	}
	respBody, err := a.call(ctx, "sts", a.stsEndpoint(), []byte(form.Encode()), c, map[string]string{
		"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
	}, xmlAWSError)
	if err != nil {
		return awsCredentials{}, err
	}
	var out struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
		} `xml:"AssumeRoleResult>Credentials"`
	}
	if err := xml.Unmarshal(respBody, &out); err != nil {
		return awsCredentials{}, a.fail(KindOther, "STS AssumeRole answered with bad XML", err)
	}
	cr := out.Credentials
	if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		return awsCredentials{}, a.fail(KindOther, "STS AssumeRole returned no credentials", nil)
	}
	return awsCredentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}, nil
}

// call POSTs a signed request to an AWS endpoint and returns the answer's
// body, or an *Error with AWS's own error code and message.
func (a *ecrAuth) call(ctx context.Context, service, endpoint string, body []byte, c awsCredentials,
	headers map[string]string, parseErr func([]byte) (code, msg string)) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, a.fail(KindInvalid, fmt.Sprintf("AWS %s endpoint %q", service, endpoint), err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	signV4(req, body, c, a.cfg.Region, service, a.now())
	resp, err := a.client.Do(req)
	if err != nil {
		f := failure{host: req.URL.Host, ref: a.host}
		e := f.classify(err, "AWS "+service+" API")
		e.Msg = fmt.Sprintf("log in to ECR registry %s: %s", a.host, e.Msg)
		return nil, e
	}
	defer func() { _ = resp.Body.Close() }()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxAWSResponse))
	if err != nil {
		return nil, a.fail(KindUnreachable, fmt.Sprintf("read AWS %s answer", service), err)
	}
	if resp.StatusCode == http.StatusOK {
		return respBody, nil
	}
	code, msg := parseErr(respBody)
	kind := KindOther
	switch {
	case resp.StatusCode >= 500:
		kind = KindUnreachable
	case strings.Contains(code, "AccessDenied"):
		kind = KindForbidden
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusBadRequest &&
		(strings.Contains(code, "UnrecognizedClient") || strings.Contains(code, "InvalidSignature") ||
			strings.Contains(code, "InvalidClientTokenId") || strings.Contains(code, "ExpiredToken") ||
			strings.Contains(code, "SignatureDoesNotMatch")):
		kind = KindUnauthorized
	}
	what := fmt.Sprintf("AWS %s rejected the request with access key %s (HTTP %d %s: %s)",
		service, c.AccessKeyID, resp.StatusCode, code, msg)
	if kind == KindUnauthorized {
		what = fmt.Sprintf("AWS %s rejected the credentials (access key %s): %s: %s", service, c.AccessKeyID, code, msg)
	}
	return nil, a.fail(kind, what, nil)
}

func (a *ecrAuth) fail(kind Kind, what string, err error) *Error {
	return &Error{Kind: kind, Host: a.host, Ref: a.host, Msg: fmt.Sprintf("log in to ECR registry %s: %s", a.host, what), Err: err}
}

// jsonAWSError reads the error body of AWS JSON protocols:
// {"__type":"…#UnrecognizedClientException","message":"…"}.
func jsonAWSError(b []byte) (code, msg string) {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(b, &e) != nil {
		return "unknown", truncate(string(b), 200)
	}
	if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
		e.Type = e.Type[i+1:]
	}
	if e.Message == "" {
		e.Message = e.MessageU
	}
	return e.Type, e.Message
}

// xmlAWSError reads the error body of AWS query protocols (STS):
// <ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>.
func xmlAWSError(b []byte) (code, msg string) {
	var e struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if xml.Unmarshal(b, &e) != nil {
		return "unknown", truncate(string(b), 200)
	}
	return e.Code, e.Message
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
