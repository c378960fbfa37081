package central

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/ui"
)

// browserRequest sends a request the way the dashboard does: cookies and
// headers given, JSON body, no Authorization header.
func (c *central) browserRequest(method, path string, body any, cookies []*http.Cookie, header map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func (c *central) browserMust(want int, method, path string, body any, cookies []*http.Cookie, header map[string]string) response {
	c.t.Helper()
	r := c.browserRequest(method, path, body, cookies, header)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// sessionCookies signs in with body and returns the cookies set and the
// CSRF token returned.
func (c *central) sessionCookies(body any) ([]*http.Cookie, string) {
	c.t.Helper()
	r := c.browserMust(http.StatusOK, "POST", "/v1/auth/login", body, nil, nil)
	resp := http.Response{Header: r.header}
	cookies := resp.Cookies()
	var out struct {
		CSRFToken string    `json:"csrfToken"`
		ExpiresAt time.Time `json:"expiresAt"`
		Role      string    `json:"role"`
	}
	r.json(c.t, &out)
	byName := map[string]*http.Cookie{}
	for _, ck := range cookies {
		byName[ck.Name] = ck
	}
	sess, csrf := byName[auth.SessionCookie], byName[auth.CSRFCookie]
	if sess == nil || csrf == nil {
		c.t.Fatalf("login set cookies %v, want %s and %s", cookies, auth.SessionCookie, auth.CSRFCookie)
	}
	if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" || sess.Domain != "" {
		c.t.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/ and no Domain", sess)
	}
	if csrf.HttpOnly || !csrf.Secure || csrf.SameSite != http.SameSiteStrictMode || csrf.Value != out.CSRFToken {
		c.t.Errorf("CSRF cookie %+v: want readable, Secure, SameSite=Strict, holding the returned token", csrf)
	}
	if len(sess.Value) < 43 || out.CSRFToken == "" || out.CSRFToken == sess.Value {
		c.t.Errorf("session id %d characters, CSRF token %q", len(sess.Value), out.CSRFToken)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		c.t.Errorf("login response Cache-Control %q", r.header.Get("Cache-Control"))
	}
	return []*http.Cookie{sess, csrf}, out.CSRFToken
}

func TestSessionSignInCSRFAndSignOut(t *testing.T) {
	c := start(t, t.TempDir())
	cookies, csrf := c.sessionCookies(map[string]string{"username": "admin", "password": c.password})

	var status struct {
		Kind     string `json:"kind"`
		UserName string `json:"userName"`
		Role     string `json:"role"`
	}
	c.browserMust(200, "GET", "/v1/auth/status", nil, cookies, nil).json(t, &status)
	if status.Kind != "user" || status.UserName != "admin" || status.Role != "Admin" {
		t.Errorf("status by cookie = %+v", status)
	}

	// A change needs the CSRF header; GET does not.
	body := map[string]any{"name": "from the dashboard", "role": "Analyst"}
	r := c.browserMust(http.StatusForbidden, "POST", "/v1/apitokens/generate", body, cookies, nil)
	if !strings.Contains(string(r.body), "CSRF") {
		t.Errorf("403 body %s does not name the CSRF token", r.body)
	}
	c.browserMust(http.StatusForbidden, "POST", "/v1/apitokens/generate", body, cookies, map[string]string{auth.CSRFHeader: csrf + "x"})
	c.browserMust(http.StatusOK, "POST", "/v1/apitokens/generate", body, cookies, map[string]string{auth.CSRFHeader: csrf})

	// Basic and Bearer callers are unaffected by the CSRF rule, even with a
	// session cookie beside their header.
	c.must(http.StatusOK, c.admin(), "POST", "/v1/apitokens/generate", map[string]any{"name": "cli", "role": "Analyst"})

	// A session of another sign-in has another CSRF token.
	other, otherCSRF := c.sessionCookies(map[string]string{"username": "admin", "password": c.password})
	if otherCSRF == csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	c.browserMust(http.StatusForbidden, "POST", "/v1/apitokens/generate", body, other, map[string]string{auth.CSRFHeader: csrf})

	// Sign-out ends the session (and needs its CSRF token too).
	c.browserMust(http.StatusForbidden, "POST", "/v1/auth/logout", nil, cookies, nil)
	r = c.browserMust(http.StatusNoContent, "POST", "/v1/auth/logout", nil, cookies, map[string]string{auth.CSRFHeader: csrf})
	cleared := (&http.Response{Header: r.header}).Cookies()
	if len(cleared) != 2 || cleared[0].MaxAge >= 0 || cleared[1].MaxAge >= 0 {
		t.Errorf("logout cookies %+v, want both expired", cleared)
	}
	c.browserMust(http.StatusUnauthorized, "GET", "/v1/auth/status", nil, cookies, nil)
	c.browserMust(http.StatusOK, "GET", "/v1/auth/status", nil, other, nil)

	// A made-up or malformed cookie is refused; the store keeps only hashes.
	for _, v := range []string{"x", strings.Repeat("A", 43), strings.Repeat("!", 43)} {
		c.browserMust(http.StatusUnauthorized, "GET", "/v1/auth/status", nil, []*http.Cookie{{Name: auth.SessionCookie, Value: v}}, nil)
	}
	n, err := c.srv.store.CountSessions(t.Context())
	if err != nil || n != 1 {
		t.Errorf("%d sessions stored (%v), want 1", n, err)
	}
	if _, err := c.srv.store.GetSession(t.Context(), other[0].Value); err == nil {
		t.Error("the session id itself is a store key: the store must keep only its hash")
	}
}

func TestSessionWithToken(t *testing.T) {
	c := start(t, t.TempDir())
	id, tok := c.token("analyst", "Analyst", nil)
	cookies, csrf := c.sessionCookies(map[string]string{"token": tok})
	var status struct {
		Kind     string `json:"kind"`
		UserName string `json:"userName"`
		Role     string `json:"role"`
		TokenID  string `json:"tokenId"`
	}
	c.browserMust(200, "GET", "/v1/auth/status", nil, cookies, nil).json(t, &status)
	if status.Kind != "token" || status.UserName != "analyst" || status.Role != "Analyst" || status.TokenID != id {
		t.Errorf("status = %+v", status)
	}
	// The token's role holds for the session: an analyst cannot write.
	c.browserMust(http.StatusForbidden, "PATCH", "/v1/alerts/x", map[string]string{"state": "RESOLVED"}, cookies, map[string]string{auth.CSRFHeader: csrf})
	// Revoking the token ends its sessions.
	c.must(http.StatusOK, c.admin(), "POST", "/v1/apitokens/"+id+"/revoke", nil)
	c.browserMust(http.StatusUnauthorized, "GET", "/v1/auth/status", nil, cookies, nil)

	// A session never outlives its token.
	soon := time.Now().Add(10 * time.Minute)
	_, short := c.token("short", "Analyst", &soon)
	r := c.browserMust(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"token": short}, nil, nil)
	var out struct {
		ExpiresAt time.Time `json:"expiresAt"`
	}
	r.json(t, &out)
	if out.ExpiresAt.After(soon) {
		t.Errorf("session expires at %v, after its token (%v)", out.ExpiresAt, soon)
	}
}

func TestSignInRequests(t *testing.T) {
	c := start(t, t.TempDir(), func(cfg *Config) { cfg.LoginRefill = time.Hour })
	for _, body := range []map[string]string{
		{},
		{"username": "admin"},
		{"password": "x"},
		{"username": "admin", "password": "x", "token": "stk_00_x"},
	} {
		c.browserMust(http.StatusBadRequest, "POST", "/v1/auth/login", body, nil, nil)
	}
	c.browserMust(http.StatusBadRequest, "POST", "/v1/auth/login", map[string]any{"username": "admin", "password": c.password, "remember": true}, nil, nil)
	// Not JSON: what a cross-site form would send.
	req, _ := http.NewRequest("POST", c.url+"/v1/auth/login", strings.NewReader("username=admin&password="+c.password))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || len(resp.Cookies()) != 0 {
		t.Errorf("form sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	good := map[string]string{"username": "admin", "password": c.password}
	c.browserMust(http.StatusForbidden, "POST", "/v1/auth/login", good, nil, map[string]string{"Origin": "https://evil.example"})
	c.browserMust(http.StatusForbidden, "POST", "/v1/auth/login", good, nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
	c.browserMust(http.StatusOK, "POST", "/v1/auth/login", good, nil, map[string]string{"Origin": c.url, "Sec-Fetch-Site": "same-origin"})

	// Failed sign-ins count against the same limit as failed Basic
	// credentials; a limited client is refused even the right password.
	for i := 0; i < loginBurst; i++ {
		body := map[string]string{"username": "admin", "password": "guess"}
		if i%2 == 1 {
			body = map[string]string{"token": "stk_0011_wrong"}
		}
		r := c.browserMust(http.StatusUnauthorized, "POST", "/v1/auth/login", body, nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
		if len((&http.Response{Header: r.header}).Cookies()) != 0 {
			t.Fatal("a failed sign-in set cookies")
		}
	}
	c.browserMust(http.StatusTooManyRequests, "POST", "/v1/auth/login", good, nil, nil)
	c.must(http.StatusTooManyRequests, c.admin(), "GET", "/v1/auth/status", nil)
	if !strings.Contains(c.logs.String(), "sign-in failed") || strings.Contains(c.logs.String(), c.password) {
		t.Error("failed sign-ins are not logged, or the password is")
	}
}

func TestUnauthorizedChallenge(t *testing.T) {
	c := start(t, t.TempDir())
	plain := c.browserMust(http.StatusUnauthorized, "GET", "/v1/alerts", nil, nil, nil)
	if !strings.Contains(strings.Join(plain.header.Values("WWW-Authenticate"), ","), "Basic") {
		t.Errorf("API clients lost the Basic challenge: %v", plain.header.Values("WWW-Authenticate"))
	}
	xhr := c.browserMust(http.StatusUnauthorized, "GET", "/v1/alerts", nil, nil, map[string]string{"X-Requested-With": "XMLHttpRequest"})
	if ch := strings.Join(xhr.header.Values("WWW-Authenticate"), ","); strings.Contains(ch, "Basic") || ch == "" {
		t.Errorf("script request challenged with %q: browsers would open their own dialog", ch)
	}
}

func TestDashboardServed(t *testing.T) {
	c := start(t, t.TempDir())
	dist, err := ui.Dist()
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := fs.Stat(dist, "index.html")
	built := statErr == nil
	for _, path := range []string{"/", "/violations", "/policies/some-id"} {
		r := c.browserRequest("GET", path, nil, nil, nil)
		switch {
		case built && (r.status != 200 || !strings.Contains(string(r.body), `<div id="root">`)):
			t.Errorf("GET %s = %d, want the dashboard's index.html", path, r.status)
		case !built && (r.status != 503 || !strings.Contains(string(r.body), "make ui")):
			t.Errorf("GET %s = %d, want the page saying how to build the dashboard", path, r.status)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: CSP %q, X-Frame-Options %q", path, csp, r.header.Get("X-Frame-Options"))
		}
	}
	// The API keeps its routes and answers unknown paths in JSON.
	c.must(200, cred{}, "GET", "/healthz", nil)
	c.must(401, cred{}, "GET", "/openapi.json", nil)
	r := c.must(404, c.admin(), "GET", "/v1/no-such-endpoint", nil)
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	if e.Error == "" {
		t.Errorf("unknown API path: %s", r.body)
	}
}

type summaryResponse struct {
	Total  int `json:"total"`
	Groups map[string][]struct {
		Severity       string `json:"severity"`
		Category       string `json:"category"`
		Cluster        string `json:"cluster"`
		Namespace      string `json:"namespace"`
		DeploymentName string `json:"deploymentName"`
		MaxSeverity    string `json:"maxSeverity"`
		Day            string `json:"day"`
		Count          int    `json:"count"`
	} `json:"groups"`
}

func TestAlertSummaryAndFilters(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	c.must(200, admin, "POST", "/v1/detect/deploy/yaml", map[string]any{
		"yaml": privilegedPod + "---\n" + hardenedDeployment, "record": true, "cluster": "lab",
	})
	var all alertList
	c.must(200, admin, "GET", "/v1/alerts?limit=1000", nil).json(t, &all)
	if all.Total < 2 {
		t.Fatalf("only %d alerts recorded", all.Total)
	}

	var sum summaryResponse
	c.must(200, admin, "GET", "/v1/alerts/summary?groupBy=severity,category,namespace,deployment,cluster,day&days=7", nil).json(t, &sum)
	if sum.Total != all.Total {
		t.Errorf("summary total %d, list total %d", sum.Total, all.Total)
	}
	sevTotal := 0
	for _, g := range sum.Groups["severity"] {
		sevTotal += g.Count
	}
	if sevTotal != all.Total {
		t.Errorf("severity groups add up to %d, want %d", sevTotal, all.Total)
	}
	days := sum.Groups["day"]
	if len(days) != 7 || days[6].Day != time.Now().UTC().Format(time.DateOnly) || days[6].Count != all.Total {
		t.Errorf("days = %+v, want 7 ending today with every alert", days)
	}
	if len(sum.Groups["cluster"]) != 1 || sum.Groups["cluster"][0].Cluster != "lab" {
		t.Errorf("clusters = %+v", sum.Groups["cluster"])
	}
	if top := sum.Groups["deployment"]; len(top) != 2 || top[0].Count < top[1].Count || top[0].MaxSeverity == "" {
		t.Errorf("deployments = %+v", top)
	}
	cats := sum.Groups["category"]
	if len(cats) == 0 {
		t.Fatal("no categories")
	}
	// Every category links to a filtered list of exactly that many alerts.
	for _, g := range cats {
		var l alertList
		c.must(200, admin, "GET", "/v1/alerts?category="+urlQueryEscape(g.Category), nil).json(t, &l)
		if l.Total != g.Count {
			t.Errorf("category %q: summary says %d, the list has %d", g.Category, g.Count, l.Total)
		}
	}
	var none alertList
	c.must(200, admin, "GET", "/v1/alerts?category=no-such-category", nil).json(t, &none)
	if none.Total != 0 {
		t.Errorf("unknown category matched %d alerts", none.Total)
	}
	// Filters narrow the summary.
	var prod summaryResponse
	c.must(200, admin, "GET", "/v1/alerts/summary?groupBy=namespace&namespace=prod", nil).json(t, &prod)
	if g := prod.Groups["namespace"]; len(g) != 1 || g[0].Namespace != "prod" || g[0].Count != prod.Total {
		t.Errorf("summary in prod = %+v", prod)
	}
	// Time filters.
	var later alertList
	c.must(200, admin, "GET", "/v1/alerts?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil).json(t, &later)
	var earlier alertList
	c.must(200, admin, "GET", "/v1/alerts?until="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil).json(t, &earlier)
	if later.Total != 0 || earlier.Total != all.Total {
		t.Errorf("since an hour ahead: %d alerts; until an hour ahead: %d of %d", later.Total, earlier.Total, all.Total)
	}
	for _, q := range []string{"groupBy=colour", "groupBy=severity&limit=0", "groupBy=day&days=0", "groupBy=day&days=400", "groupBy=severity&sort=time", "since=yesterday"} {
		c.must(400, admin, "GET", "/v1/alerts/summary?"+q, nil)
	}
	// Needs Alert read, like the list: the CI role has none.
	_, ci := c.token("ci", "Continuous Integration", nil)
	c.must(403, bearer(ci), "GET", "/v1/alerts/summary?groupBy=severity", nil)
}

func TestPolicyListFiltersSortsAndPages(t *testing.T) {
	c := start(t, t.TempDir())
	admin := c.admin()
	type page struct {
		Policies []struct {
			ID              string   `json:"id"`
			Name            string   `json:"name"`
			Severity        string   `json:"severity"`
			Disabled        bool     `json:"disabled"`
			Enforcement     bool     `json:"enforcement"`
			LifecycleStages []string `json:"lifecycleStages"`
			Categories      []string `json:"categories"`
		} `json:"policies"`
		Total int `json:"total"`
	}
	var all page
	c.must(200, admin, "GET", "/v1/policies", nil).json(t, &all)
	if all.Total != len(all.Policies) || all.Total < 10 {
		t.Fatalf("%d policies, total %d", len(all.Policies), all.Total)
	}
	var p1, p2 page
	c.must(200, admin, "GET", "/v1/policies?sort=severity&limit=5", nil).json(t, &p1)
	c.must(200, admin, "GET", "/v1/policies?sort=severity&limit=5&offset=5", nil).json(t, &p2)
	if len(p1.Policies) != 5 || len(p2.Policies) != 5 || p1.Total != all.Total || p1.Policies[0].Severity != "CRITICAL_SEVERITY" {
		t.Fatalf("pages: %+v / %+v", p1, p2)
	}
	if p1.Policies[4].ID == p2.Policies[0].ID {
		t.Error("pages overlap")
	}
	var rev page
	c.must(200, admin, "GET", "/v1/policies?sort=-name", nil).json(t, &rev)
	if rev.Policies[0].ID != all.Policies[len(all.Policies)-1].ID {
		t.Errorf("-name does not reverse name: %s first, %s last", rev.Policies[0].Name, all.Policies[len(all.Policies)-1].Name)
	}
	var high page
	c.must(200, admin, "GET", "/v1/policies?severity=high&stage=deploy", nil).json(t, &high)
	for _, p := range high.Policies {
		if p.Severity != "HIGH_SEVERITY" || !strings.Contains(strings.Join(p.LifecycleStages, ","), "DEPLOY") {
			t.Errorf("severity=high&stage=deploy returned %+v", p)
		}
	}
	cat := all.Policies[0].Categories[0]
	var inCat page
	c.must(200, admin, "GET", "/v1/policies?category="+urlQueryEscape(strings.ToUpper(cat)), nil).json(t, &inCat)
	if inCat.Total == 0 || inCat.Total > all.Total {
		t.Errorf("category %q: %d policies", cat, inCat.Total)
	}
	var before, disabled, enabled page
	c.must(200, admin, "GET", "/v1/policies?disabled=true", nil).json(t, &before)
	c.must(200, admin, "PATCH", "/v1/policies/"+all.Policies[0].ID, map[string]bool{"disabled": true})
	c.must(200, admin, "GET", "/v1/policies?disabled=true", nil).json(t, &disabled)
	c.must(200, admin, "GET", "/v1/policies?disabled=false", nil).json(t, &enabled)
	if disabled.Total != before.Total+1 || disabled.Total+enabled.Total != all.Total {
		t.Errorf("%d disabled before, %d after disabling one, %d enabled of %d", before.Total, disabled.Total, enabled.Total, all.Total)
	}
	for _, p := range disabled.Policies {
		if !p.Disabled {
			t.Errorf("disabled=true returned the enabled policy %s", p.Name)
		}
	}
	var past page
	c.must(200, admin, "GET", "/v1/policies?offset=100000", nil).json(t, &past)
	if len(past.Policies) != 0 || past.Total != all.Total {
		t.Errorf("past the end: %d policies, total %d", len(past.Policies), past.Total)
	}
	for _, q := range []string{"sort=colour", "limit=5000", "offset=-1", "disabled=maybe", "colour=red"} {
		c.must(400, admin, "GET", "/v1/policies?"+q, nil)
	}
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "+", "%2B", "#", "%23", "=", "%3D", "?", "%3F").Replace(s)
}
