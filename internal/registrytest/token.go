package registrytest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenServer is the authorization service of distribution's token auth
// (https://distribution.github.io/distribution/spec/auth/token/): it checks
// a user's basic credentials, or an OAuth2 refresh token, and answers with a
// JWT the registry trusts because the signing certificate is the registry's
// rootcertbundle.
type tokenServer struct {
	issuer  string
	service string
	signer  *keyPair
	ttl     time.Duration

	mu sync.Mutex
	// users by name; refresh maps refresh tokens to user names.
	users   map[string]user
	refresh map[string]string
	// issued counts the tokens handed out, for tests of token reuse.
	issued int
}

type user struct {
	password string
	// repos limits the repositories the user may touch (a name or a
	// "prefix/" ending in a slash); empty means all.
	repos []string
}

// access is one entry of the JWT's access claim.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		name   string
		scopes []string
		ok     bool
		oauth  bool
	)
	switch r.Method {
	case http.MethodGet:
		var pass string
		name, pass, ok = r.BasicAuth()
		if !ok {
			tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		if !ts.checkPassword(name, pass) {
			tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "incorrect username or password")
			return
		}
		for _, s := range r.URL.Query()["scope"] {
			scopes = append(scopes, strings.Fields(s)...)
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			tokenError(w, http.StatusBadRequest, "UNSUPPORTED", "bad form: "+err.Error())
			return
		}
		oauth = true
		switch r.PostForm.Get("grant_type") {
		case "password":
			name = r.PostForm.Get("username")
			if !ts.checkPassword(name, r.PostForm.Get("password")) {
				tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "incorrect username or password")
				return
			}
		case "refresh_token":
			ts.mu.Lock()
			name, ok = ts.refresh[r.PostForm.Get("refresh_token")]
			ts.mu.Unlock()
			if !ok {
				tokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "unknown refresh token")
				return
			}
		default:
			tokenError(w, http.StatusBadRequest, "UNSUPPORTED", "unsupported grant_type")
			return
		}
		scopes = strings.Fields(r.PostForm.Get("scope"))
	default:
		tokenError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "use GET or POST")
		return
	}
	if svc := r.FormValue("service"); svc != "" && svc != ts.service {
		tokenError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("unknown service %q", svc))
		return
	}

	grants, err := ts.authorize(name, scopes)
	if err != nil {
		tokenError(w, http.StatusForbidden, "DENIED", err.Error())
		return
	}
	now := time.Now()
	tok, err := ts.sign(name, grants, now)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	resp := map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(ts.ttl.Seconds()),
		"issued_at":    now.UTC().Format(time.RFC3339),
	}
	if oauth {
		resp["refresh_token"] = r.PostForm.Get("refresh_token")
		if resp["refresh_token"] == "" {
			delete(resp, "refresh_token")
		}
	}
	ts.mu.Lock()
	ts.issued++
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (ts *tokenServer) checkPassword(name, pass string) bool {
	ts.mu.Lock()
	u, ok := ts.users[name]
	ts.mu.Unlock()
	return ok && subtle.ConstantTimeCompare([]byte(u.password), []byte(pass)) == 1
}

// authorize turns the requested scopes ("repository:team/app:pull,push",
// "registry:catalog:*") into grants, refusing repositories outside the
// user's list.
func (ts *tokenServer) authorize(name string, scopes []string) ([]access, error) {
	ts.mu.Lock()
	u := ts.users[name]
	ts.mu.Unlock()
	var grants []access
	for _, s := range scopes {
		typ, rest, ok1 := strings.Cut(s, ":")
		i := strings.LastIndexByte(rest, ':')
		if !ok1 || i < 0 {
			return nil, fmt.Errorf("malformed scope %q", s)
		}
		res, actions := rest[:i], strings.Split(rest[i+1:], ",")
		if typ == "repository" && !u.mayAccess(res) {
			return nil, fmt.Errorf("user %s may not access repository %s", name, res)
		}
		grants = append(grants, access{Type: typ, Name: res, Actions: actions})
	}
	return grants, nil
}

func (u user) mayAccess(repo string) bool {
	if len(u.repos) == 0 {
		return true
	}
	for _, r := range u.repos {
		if repo == r || (strings.HasSuffix(r, "/") && strings.HasPrefix(repo, r)) {
			return true
		}
	}
	return false
}

// sign writes an ES256 JWT with the signing certificate in the x5c header,
// which is how distribution finds the key and checks it against its
// rootcertbundle.
func (ts *tokenServer) sign(subject string, grants []access, now time.Time) (string, error) {
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	if grants == nil {
		grants = []access{}
	}
	header := map[string]any{
		"typ": "JWT",
		"alg": "ES256",
		"x5c": []string{base64.StdEncoding.EncodeToString(ts.signer.cert.Raw)},
	}
	claims := map[string]any{
		"iss":    ts.issuer,
		"sub":    subject,
		"aud":    ts.service,
		"exp":    now.Add(ts.ttl).Unix(),
		"nbf":    now.Add(-time.Minute).Unix(),
		"iat":    now.Unix(),
		"jti":    hex.EncodeToString(jti),
		"access": grants,
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("token header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	sig, err := signES256(ts.signer.key, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// signES256 returns the JWS signature: r and s as 32-byte big-endian
// numbers, concatenated (RFC 7518 section 3.4).
func signES256(key *ecdsa.PrivateKey, input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("sign token: %w", err)
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// tokenError answers in the registry's error format, which clients print.
func tokenError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="registrytest token server"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors":  []map[string]string{{"code": code, "message": msg}},
		"details": msg,
	})
}
