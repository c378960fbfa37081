package registry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// AWS Signature Version 4, the request signing every AWS API takes
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
// It is written here rather than taken from the AWS SDK because ECR needs
// two calls (GetAuthorizationToken and STS AssumeRole) and the SDK would
// bring dozens of modules for them.

// awsCredentials are an AWS access key, with the session token when the
// key is temporary.
type awsCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout   = "20060102T150405Z"
	amzShortLayout  = "20060102"
	sigV4Terminator = "aws4_request"
)

// signV4 signs req, whose body is body, for service in region at now: it
// sets X-Amz-Date, X-Amz-Security-Token (temporary keys) and Authorization.
// It signs the host, Content-Type and every X-Amz-* header.
func signV4(req *http.Request, body []byte, c awsCredentials, region, service string, now time.Time) {
	now = now.UTC()
	req.Header.Set("X-Amz-Date", now.Format(amzDateLayout))
	if c.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	creq, signed := canonicalRequest(req, hashHex(body))
	scope := credentialScope(now, region, service)
	sts := stringToSign(now, scope, creq)
	sig := hex.EncodeToString(hmacSHA256(signingKey(c.SecretAccessKey, now, region, service), sts))
	req.Header.Set("Authorization", sigV4Algorithm+" Credential="+c.AccessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

// canonicalRequest returns the canonical form of req and its signed header
// list ("content-type;host;x-amz-date").
func canonicalRequest(req *http.Request, payloadHash string) (creq, signedHeaders string) {
	headers := map[string]string{}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers["host"] = host
	for name, values := range req.Header {
		lname := strings.ToLower(name)
		if lname != "content-type" && !strings.HasPrefix(lname, "x-amz-") {
			continue
		}
		trimmed := make([]string, len(values))
		for i, v := range values {
			trimmed[i] = strings.Join(strings.Fields(v), " ")
		}
		headers[lname] = strings.Join(trimmed, ",")
	}
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	var hb strings.Builder
	for _, n := range names {
		hb.WriteString(n + ":" + headers[n] + "\n")
	}
	signedHeaders = strings.Join(names, ";")
	creq = strings.Join([]string{
		req.Method,
		canonicalURI(req.URL),
		canonicalQuery(req.URL),
		hb.String(),
		signedHeaders,
		payloadHash,
	}, "\n")
	return creq, signedHeaders
}

// canonicalURI URI-encodes each segment of the path; "/" when empty.
func canonicalURI(u *url.URL) string {
	p := u.Path
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = awsEscape(s)
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts the parameters by name, then value, each encoded.
func canonicalQuery(u *url.URL) string {
	q := u.Query()
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, kv{awsEscape(k), awsEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// awsEscape percent-encodes every byte but the RFC 3986 unreserved
// characters, with upper-case hex, as SigV4 requires.
func awsEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func credentialScope(t time.Time, region, service string) string {
	return t.UTC().Format(amzShortLayout) + "/" + region + "/" + service + "/" + sigV4Terminator
}

func stringToSign(t time.Time, scope, creq string) string {
	return sigV4Algorithm + "\n" + t.UTC().Format(amzDateLayout) + "\n" + scope + "\n" + hashHex([]byte(creq))
}

// signingKey derives the day's key for region and service from the secret.
func signingKey(secret string, t time.Time, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), t.UTC().Format(amzShortLayout))
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigV4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
