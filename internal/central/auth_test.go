package central

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
)

// concretePath fills a route's {wildcards} with a value.
func concretePath(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], '}')
		b.WriteString(p[:i])
		b.WriteString("no-such-object")
		p = p[i+j+1:]
	}
}

// TestEveryRouteEnforcesItsPermission walks the route table: without
// credentials every non-public route is 401 with a challenge, and for each
// role a route is 403 exactly when the role lacks the route's permission.
func TestEveryRouteEnforcesItsPermission(t *testing.T) {
	c := start(t, t.TempDir())
	tokens := map[auth.Role]string{}
	for _, role := range auth.Roles() {
		_, tokens[role] = c.token("matrix "+string(role), string(role), nil)
	}
	for _, rt := range c.srv.routes {
		path := concretePath(rt.Path)
		r := c.do(cred{}, rt.Method, path, nil)
		if rt.Permission.IsPublic() {
			if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
				t.Errorf("%s without credentials: %d, want it public", rt.Pattern(), r.status)
			}
			continue
		}
		if r.status != http.StatusUnauthorized || len(r.header.Values("WWW-Authenticate")) == 0 {
			t.Errorf("%s without credentials: %d, challenge %q; want 401 with WWW-Authenticate", rt.Pattern(), r.status, r.header.Values("WWW-Authenticate"))
		}
		for role, tok := range tokens {
			r := c.do(bearer(tok), rt.Method, path, nil)
			allowed := role.Allows(rt.Permission)
			switch {
			case r.status == http.StatusUnauthorized:
				t.Errorf("%s as %s: 401 with a valid token", rt.Pattern(), role)
			case allowed && r.status == http.StatusForbidden:
				t.Errorf("%s as %s: 403, want allowed: %s", rt.Pattern(), role, r.body)
			case !allowed && r.status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", rt.Pattern(), role, r.status)
			}
		}
	}
}

func TestRoleMatrix(t *testing.T) {
	c := start(t, t.TempDir())
	_, analyst := c.token("analyst", "Analyst", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)
	newPolicy := map[string]any{
		"name": "Matrix policy", "severity": "LOW_SEVERITY", "lifecycleStages": []string{"DEPLOY"},
		"policySections": []any{map[string]any{"policyGroups": []any{map[string]any{"fieldName": "Privileged Container", "values": []any{map[string]string{"value": "true"}}}}}},
	}
	detect := yamlRequest(privilegedPod, false)
	record := yamlRequest(privilegedPod, true)
	for _, tc := range []struct {
		who          string
		cr           cred
		method, path string
		body         any
		want         int
	}{
		{"admin", c.admin(), "POST", "/v1/policies", newPolicy, 200},
		{"admin", c.admin(), "POST", "/v1/detect/deploy/yaml", record, 200},
		{"analyst", bearer(analyst), "GET", "/v1/policies", nil, 200},
		{"analyst", bearer(analyst), "GET", "/v1/alerts", nil, 200},
		{"analyst", bearer(analyst), "POST", "/v1/policies/export", map[string]any{}, 200},
		{"analyst", bearer(analyst), "POST", "/v1/detect/deploy/yaml", detect, 200},
		{"analyst", bearer(analyst), "POST", "/v1/detect/deploy/yaml", record, 403},
		{"analyst", bearer(analyst), "POST", "/v1/policies", newPolicy, 403},
		{"analyst", bearer(analyst), "PATCH", "/v1/alerts/x", map[string]string{"state": "RESOLVED"}, 403},
		{"analyst", bearer(analyst), "GET", "/v1/apitokens", nil, 200},
		{"analyst", bearer(analyst), "POST", "/v1/apitokens/generate", map[string]string{"name": "x", "role": "Admin"}, 403},
		{"ci", bearer(ci), "POST", "/v1/detect/deploy/yaml", detect, 200},
		{"ci", bearer(ci), "POST", "/v1/detect/deploy/yaml", record, 403},
		{"ci", bearer(ci), "GET", "/v1/policies", nil, 200},
		{"ci", bearer(ci), "POST", "/v1/policies", newPolicy, 403},
		{"ci", bearer(ci), "GET", "/v1/alerts", nil, 403},
		{"ci", bearer(ci), "GET", "/v1/apitokens", nil, 403},
		{"ci", bearer(ci), "GET", "/v1/auth/status", nil, 200},
		{"ci", bearer(ci), "GET", "/openapi.json", nil, 200},
	} {
		r := c.do(tc.cr, tc.method, tc.path, tc.body)
		if r.status != tc.want {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.who, tc.method, tc.path, r.status, tc.want, r.body)
		}
	}
	var st map[string]string
	c.must(200, bearer(ci), "GET", "/v1/auth/status", nil).json(t, &st)
	if st["userName"] != "ci" || st["role"] != "Continuous Integration" || st["kind"] != "token" || st["tokenId"] == "" {
		t.Errorf("CI auth status = %v", st)
	}
}

func TestBadCredentials(t *testing.T) {
	c := start(t, t.TempDir())
	id, tok := c.token("soon revoked", "Admin", nil)
	c.must(200, bearer(tok), "GET", "/v1/auth/status", nil)
	for name, cr := range map[string]cred{
		"wrong password": {user: "admin", password: c.password + "x"},
		"wrong user":     {user: "root", password: c.password},
		"garbage token":  {token: "not-a-token"},
		"unknown token":  {token: "stk_00112233445566778899aabb_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		"wrong secret":   {token: tok[:len(tok)-4] + "AAAA"},
	} {
		r := c.do(cr, "GET", "/v1/policies", nil)
		if r.status != http.StatusUnauthorized || len(r.header.Values("WWW-Authenticate")) == 0 {
			t.Errorf("%s: %d, want 401 with a challenge", name, r.status)
		}
	}
	// Revoked, by either route.
	c.must(http.StatusNoContent, c.admin(), "DELETE", "/v1/apitokens/"+id, nil)
	c.must(http.StatusUnauthorized, bearer(tok), "GET", "/v1/auth/status", nil)
	id2, tok2 := c.token("revoked by POST", "Analyst", nil)
	var meta struct {
		Revoked bool `json:"revoked"`
	}
	c.must(200, c.admin(), "POST", "/v1/apitokens/"+id2+"/revoke", nil).json(t, &meta)
	if !meta.Revoked {
		t.Error("revoke response does not say revoked")
	}
	c.must(http.StatusUnauthorized, bearer(tok2), "GET", "/v1/policies", nil)

	// Expired.
	exp := time.Now().Add(1500 * time.Millisecond)
	_, tok3 := c.token("short-lived", "Admin", &exp)
	c.must(200, bearer(tok3), "GET", "/v1/auth/status", nil)
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	c.must(http.StatusUnauthorized, bearer(tok3), "GET", "/v1/auth/status", nil)

	// The list shows metadata, never secrets or hashes.
	r := c.must(200, c.admin(), "GET", "/v1/apitokens", nil)
	// The secret is what follows the id; being base64url, it may itself
	// hold underscores, so it is split as Central splits it.
	_, secret1, err := auth.ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{tok, tok2, tok3, secret1} {
		if strings.Contains(string(r.body), secret) {
			t.Error("token list reveals a secret")
		}
	}
	var list struct {
		Tokens []struct {
			Name    string `json:"name"`
			Revoked bool   `json:"revoked"`
		} `json:"tokens"`
	}
	r.json(t, &list)
	if len(list.Tokens) != 3 {
		t.Errorf("listed %d tokens, want 3", len(list.Tokens))
	}
	c.must(200, c.admin(), "GET", "/v1/apitokens?revoked=false", nil).json(t, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].Name != "short-lived" {
		t.Errorf("unrevoked tokens = %+v", list.Tokens)
	}
	// Secrets and passwords never reach the log.
	logs := c.logs.String()
	for _, secret := range []string{c.password, tok, tok2, tok3} {
		if strings.Contains(logs, secret) {
			t.Error("a secret reached the log")
		}
	}
	if !strings.Contains(logs, "sign-in failed") {
		t.Error("failed sign-ins are not logged")
	}
	// Invalid token requests.
	for _, body := range []map[string]any{
		{"name": "", "role": "Admin"},
		{"name": "x", "role": "Superuser"},
		{"name": "x", "role": "Admin", "expiration": "2001-01-01T00:00:00Z"},
		{"name": "x", "role": "Admin", "scope": "all"},
	} {
		c.must(http.StatusBadRequest, c.admin(), "POST", "/v1/apitokens/generate", body)
	}
}

func TestFailedSignInsAreRateLimited(t *testing.T) {
	c := start(t, t.TempDir(), func(cfg *Config) { cfg.LoginRefill = time.Hour })
	bad := cred{user: "admin", password: "guess"}
	for i := 0; i < loginBurst; i++ {
		c.must(http.StatusUnauthorized, bad, "GET", "/v1/auth/status", nil)
	}
	r := c.must(http.StatusTooManyRequests, bad, "GET", "/v1/auth/status", nil)
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// While limited, even the right password is refused.
	c.must(http.StatusTooManyRequests, c.admin(), "GET", "/v1/auth/status", nil)
	// Public routes are unaffected.
	c.must(http.StatusOK, cred{}, "GET", "/healthz", nil)
}
