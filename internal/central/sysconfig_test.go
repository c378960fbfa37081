package central

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/central/store"
)

type sysConfig struct {
	PublicConfig struct {
		LoginNotice struct {
			Enabled bool   `json:"enabled"`
			Text    string `json:"text"`
		} `json:"loginNotice"`
		Header struct {
			Enabled         bool   `json:"enabled"`
			Text            string `json:"text"`
			Color           string `json:"color"`
			BackgroundColor string `json:"backgroundColor"`
		} `json:"header"`
	} `json:"publicConfig"`
	PrivateConfig *struct {
		AlertRetention struct {
			ResolvedDays          int `json:"resolvedDays"`
			DeletedDeploymentDays int `json:"deletedDeploymentDays"`
		} `json:"alertRetention"`
		SessionIdleMinutes int `json:"sessionIdleMinutes"`
	} `json:"privateConfig"`
}

func configBody(notice, banner string, resolvedDays, deletedDays int) map[string]any {
	return map[string]any{
		"publicConfig": map[string]any{
			"loginNotice": map[string]any{"enabled": notice != "", "text": notice},
			"header":      map[string]any{"enabled": banner != "", "text": banner, "color": "#FFFFFF", "backgroundColor": "#c9190b"},
		},
		"privateConfig": map[string]any{"alertRetention": map[string]any{"resolvedDays": resolvedDays, "deletedDeploymentDays": deletedDays}, "sessionIdleMinutes": 45},
	}
}

// TestSystemConfig: the defaults, who reads which part, every field checked
// with its path, the login notice public, and a saved configuration kept
// across a restart.
func TestSystemConfig(t *testing.T) {
	dir := t.TempDir()
	c := start(t, dir)
	_, analyst := c.token("analyst", "Analyst", nil)
	_, ci := c.token("ci", "Continuous Integration", nil)

	var cfg sysConfig
	c.must(http.StatusOK, c.admin(), "GET", "/v1/config", nil).json(t, &cfg)
	if cfg.PrivateConfig == nil || cfg.PrivateConfig.AlertRetention.ResolvedDays != 30 || cfg.PrivateConfig.AlertRetention.DeletedDeploymentDays != 7 ||
		cfg.PrivateConfig.SessionIdleMinutes != 60 {
		t.Errorf("default private config = %+v, want retention 30 and 7 days, sessions idle 60 minutes", cfg.PrivateConfig)
	}
	if cfg.PublicConfig.LoginNotice.Enabled || cfg.PublicConfig.Header.Enabled {
		t.Errorf("default public config = %+v, want nothing enabled", cfg.PublicConfig)
	}
	var ciCfg sysConfig
	c.must(http.StatusOK, bearer(ci), "GET", "/v1/config", nil).json(t, &ciCfg)
	if ciCfg.PrivateConfig != nil {
		t.Errorf("CI reads the private config: %+v", ciCfg.PrivateConfig)
	}
	c.must(http.StatusUnauthorized, cred{}, "GET", "/v1/config", nil)
	c.must(http.StatusForbidden, bearer(analyst), "PUT", "/v1/config", configBody("x", "", 1, 1))
	c.must(http.StatusForbidden, bearer(ci), "PUT", "/v1/config", configBody("x", "", 1, 1))

	// Every bad field is named by its path.
	bad := configBody("", strings.Repeat("b", 201), -1, 3651)
	pub := bad["publicConfig"].(map[string]any)
	pub["loginNotice"] = map[string]any{"enabled": true, "text": "  "}
	pub["header"].(map[string]any)["color"] = "red"
	bad["privateConfig"].(map[string]any)["sessionIdleMinutes"] = 2
	r := c.must(http.StatusBadRequest, c.admin(), "PUT", "/v1/config", bad)
	var eb struct {
		Error   string `json:"error"`
		Details []struct{ Path, Message string }
	}
	r.json(t, &eb)
	var paths []string
	for _, d := range eb.Details {
		paths = append(paths, d.Path)
	}
	sort.Strings(paths)
	want := []string{"privateConfig.alertRetention.deletedDeploymentDays", "privateConfig.alertRetention.resolvedDays",
		"privateConfig.sessionIdleMinutes", "publicConfig.header.color", "publicConfig.header.text", "publicConfig.loginNotice.text"}
	if !slices.Equal(paths, want) {
		t.Errorf("error paths = %v, want %v (%s)", paths, want, r.body)
	}
	noPrivate := configBody("x", "", 1, 1)
	delete(noPrivate, "privateConfig")
	if r := c.do(c.admin(), "PUT", "/v1/config", noPrivate); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"privateConfig"`) {
		t.Errorf("PUT without privateConfig: %d %s", r.status, r.body)
	}
	if r := c.do(c.admin(), "PUT", "/v1/config", map[string]any{"publicConfig": map[string]any{"loginNotise": map[string]any{}}}); r.status != http.StatusBadRequest {
		t.Errorf("PUT with an unknown field: %d %s", r.status, r.body)
	}
	if r := c.do(c.admin(), "PUT", "/v1/config", strings.NewReader(`{"publicConfig": {"loginNotice": {"text": "`+strings.Repeat("x", 70<<10)+`"}}}`)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT of 70 KiB: %d, want 413", r.status)
	}

	// Nothing bad was stored: the notice is still off for everyone.
	var notice struct {
		Enabled bool   `json:"enabled"`
		Text    string `json:"text"`
	}
	c.must(http.StatusOK, cred{}, "GET", "/v1/config/public/loginnotice", nil).json(t, &notice)
	if notice.Enabled || notice.Text != "" {
		t.Errorf("notice after refused PUTs = %+v", notice)
	}

	var saved sysConfig
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/config", configBody("  Authorized use only.\r\nActivity is monitored.  ", "STAGING", 14, 3)).json(t, &saved)
	if saved.PublicConfig.LoginNotice.Text != "Authorized use only.\nActivity is monitored." || saved.PublicConfig.Header.Color != "#ffffff" {
		t.Errorf("saved = %+v, want trimmed text and lower-case colors", saved.PublicConfig)
	}
	c.must(http.StatusOK, cred{}, "GET", "/v1/config/public/loginnotice", nil).json(t, &notice)
	if !notice.Enabled || notice.Text != "Authorized use only.\nActivity is monitored." {
		t.Errorf("public notice = %+v", notice)
	}
	c.must(http.StatusOK, bearer(ci), "GET", "/v1/config", nil).json(t, &ciCfg)
	if !ciCfg.PublicConfig.Header.Enabled || ciCfg.PublicConfig.Header.Text != "STAGING" || ciCfg.PublicConfig.Header.BackgroundColor != "#c9190b" {
		t.Errorf("banner as CI = %+v", ciCfg.PublicConfig.Header)
	}

	// The configuration outlives a restart.
	c.stop()
	c = start(t, dir)
	c.must(http.StatusOK, bearer(analyst), "GET", "/v1/config", nil).json(t, &cfg)
	if cfg.PrivateConfig == nil || cfg.PrivateConfig.AlertRetention.ResolvedDays != 14 || cfg.PrivateConfig.AlertRetention.DeletedDeploymentDays != 3 ||
		cfg.PrivateConfig.SessionIdleMinutes != 45 ||
		cfg.PublicConfig.LoginNotice.Text != saved.PublicConfig.LoginNotice.Text {
		t.Errorf("after restart, as Analyst: %+v %+v", cfg.PublicConfig, cfg.PrivateConfig)
	}
}

// TestAlertRetention: given resolved and open alerts, old and recent, of a
// live deployment and of one removed from its cluster, saving a retention
// prunes exactly the alerts it covers, and 0 keeps them forever.
func TestAlertRetention(t *testing.T) {
	c := start(t, t.TempDir())
	ctx := t.Context()
	if err := c.srv.store.UpsertDeployments(ctx, []store.DeploymentRecord{{
		ID: "live", Cluster: "prod", Namespace: "shop", Name: "web", Kind: "Deployment", Source: "api",
		JSON: []byte(`{"ID":"live","Name":"web","Namespace":"shop","ClusterName":"prod"}`),
	}}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	mk := func(id, state, deployment string, age time.Duration) store.AlertRecord {
		at := time.Now().Add(-age).UTC()
		return store.AlertRecord{ID: id, PolicyID: "p", PolicyName: "Latest tag", Severity: "LOW_SEVERITY", LifecycleStage: "DEPLOY",
			State: state, ClusterName: "prod", Namespace: "shop", DeploymentID: deployment, DeploymentName: "web",
			EntityType: "DEPLOYMENT", CreatedAt: at, UpdatedAt: at, JSON: fmt.Appendf(nil, `{"id":%q}`, id)}
	}
	if err := c.srv.store.AddAlerts(ctx, []store.AlertRecord{
		mk("resolved-20d", store.AlertResolved, "live", 20*day),
		mk("resolved-5d", store.AlertResolved, "live", 5*day),
		mk("active-60d", store.AlertActive, "live", 60*day),
		mk("gone-10d", store.AlertResolved, "removed", 10*day),
		mk("gone-1h", store.AlertActive, "removed", time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		var list struct {
			Alerts []struct {
				ID string `json:"id"`
			} `json:"alerts"`
		}
		c.must(http.StatusOK, c.admin(), "GET", "/v1/alerts?limit=100", nil).json(t, &list)
		var out []string
		for _, a := range list.Alerts {
			out = append(out, a.ID)
		}
		sort.Strings(out)
		return out
	}
	waitFor := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := ids()
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("alerts = %v, want %v", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The pass at start ran on an empty store; saving the defaults (30 and
	// 7 days) runs one now, which takes gone-10d only.
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/config", configBody("", "", 30, 7))
	waitFor([]string{"active-60d", "gone-1h", "resolved-20d", "resolved-5d"})

	// 0 keeps everything; a pass after saving it deletes nothing more.
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/config", configBody("", "", 0, 0))
	time.Sleep(300 * time.Millisecond)
	waitFor([]string{"active-60d", "gone-1h", "resolved-20d", "resolved-5d"})

	// Resolved alerts older than 7 days go; open ones never do by age.
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/config", configBody("", "", 7, 0))
	waitFor([]string{"active-60d", "gone-1h", "resolved-5d"})

	// Alerts of removed deployments go after 1 day only, whatever their state.
	if err := c.srv.store.AddAlerts(ctx, []store.AlertRecord{mk("gone-2d", store.AlertActive, "removed", 2*day)}); err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusOK, c.admin(), "PUT", "/v1/config", configBody("", "", 7, 1))
	waitFor([]string{"active-60d", "gone-1h", "resolved-5d"})
	if !strings.Contains(c.logs.String(), "old alerts pruned") {
		t.Error("no log line for the pruning")
	}
}
